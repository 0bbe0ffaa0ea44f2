// The safetensors header, checked before any tensor byte is touched.
//
// Layout: u64 little-endian N, then N bytes of UTF-8 JSON
// `{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}`,
// then the data section; offsets are relative to its start. The checks are Hugging Face's own
// (safetensors' `Metadata::validate`): every tensor's byte count is prod(shape)·itemsize, and
// the tensors, sorted by offset, tile the data section exactly — no gap, no overlap, no tail.
// Every size here comes from an untrusted file, so each is checked against the file's real
// size before anything is allocated from it.
import { LetheError } from '../../engine/errors.ts';
import type { HostDType } from './host-tensor.ts';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8' | 'BOOL';

interface DtypeInfo {
  bytes: number;
  /** What it becomes in memory: F16 and BF16 widen to float32. */
  host: HostDType;
  /** Position in safetensors' Rust `Dtype` enum: files are written in descending order of it. */
  order: number;
}

export const SAFETENSORS_DTYPES: Record<SafetensorsDtype, DtypeInfo> = {
  BOOL: { bytes: 1, host: 'bool', order: 0 },
  U8: { bytes: 1, host: 'uint8', order: 1 },
  F16: { bytes: 2, host: 'float32', order: 7 },
  BF16: { bytes: 2, host: 'float32', order: 8 },
  I32: { bytes: 4, host: 'int32', order: 9 },
  F32: { bytes: 4, host: 'float32', order: 11 },
  F64: { bytes: 8, host: 'float64', order: 12 },
  I64: { bytes: 8, host: 'int64', order: 13 },
};

/** Types safetensors defines that lethe does not read; named in the error instead of "unknown". */
const UNSUPPORTED = new Set(['I8', 'I16', 'U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64']);

/** The cap safetensors itself puts on N: a larger header is a corrupt or hostile file. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range [begin, end) within the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Tensors in data order (ascending offsets). */
  entries: TensorEntry[];
  metadata: Record<string, string>;
}

const isDtype = (s: string): s is SafetensorsDtype => Object.hasOwn(SAFETENSORS_DTYPES, s);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const show = (x: unknown): string => {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** N from the first 8 bytes, checked against the file size and the cap. */
export function headerLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new LetheError(`${file}: not a safetensors file: ${fileSize} bytes, shorter than the 8-byte header length`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw new LetheError(`${file}: header length ${n} runs past the end of the file (${fileSize} bytes): truncated or not safetensors`);
  }
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new LetheError(`${file}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  return Number(n);
}

/** Checks the header JSON against the data section's length and returns its tensors in data order. */
export function parseSafetensorsHeader(headerBytes: Uint8Array, dataLength: number, file: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new LetheError(`${file}: header is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LetheError(`${file}: header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new LetheError(`${file}: header is not a JSON object`);
  }
  const duplicate = firstDuplicate(topLevelKeys(text));
  if (duplicate !== undefined) throw new LetheError(`${file}: tensor '${duplicate}' appears twice in the header`);

  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) {
        throw new LetheError(`${file}: __metadata__: expected an object of strings, found ${show(info)}`);
      }
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw new LetheError(`${file}: __metadata__.${k}: expected a string, found ${show(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(name, info, dataLength, file));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkTiling(entries, dataLength, file);
  return { entries, metadata };
}

function parseEntry(name: string, info: unknown, dataLength: number, file: string): TensorEntry {
  const where = `${file}: tensor '${name}'`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    throw new LetheError(`${where}: expected {dtype, shape, data_offsets}, found ${show(info)}`);
  }
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new LetheError(`${where}: dtype: expected a string, found ${show(dtype)}`);
  if (!isDtype(dtype)) {
    const supported = 'F32, F16, BF16, F64, I64, I32, U8, BOOL';
    const what = UNSUPPORTED.has(dtype) ? 'is not supported' : 'is not a safetensors dtype';
    throw new LetheError(`${where}: dtype '${dtype}' ${what} (supported: ${supported})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new LetheError(`${where}: shape: expected an array of non-negative integers, found ${show(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isCount(offsets[0]) || !isCount(offsets[1]) || offsets[0] > offsets[1]) {
    throw new LetheError(`${where}: data_offsets: expected [begin, end] with integers 0 <= begin <= end, found ${show(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) {
    throw new LetheError(`${where}: data_offsets [${begin}, ${end}] run past the data section (${dataLength} bytes)`);
  }
  // prod(shape) can exceed 2^53 only in a corrupt file; any such count disagrees with the bytes.
  const values = shape.includes(0) ? 0 : (shape as number[]).reduce((a, d) => a * d, 1);
  const need = values * SAFETENSORS_DTYPES[dtype].bytes;
  if (!Number.isSafeInteger(need) || need !== end - begin) {
    const needText = Number.isSafeInteger(need) ? `${need} bytes` : 'more than 2^53 bytes';
    throw new LetheError(`${where}: shape ${show(shape)} of ${dtype} needs ${needText}, data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** Sorted entries must cover [0, dataLength) exactly, each starting where the previous ended. */
function checkTiling(entries: TensorEntry[], dataLength: number, file: string): void {
  let at = 0;
  let previous: TensorEntry | undefined;
  for (const e of entries) {
    if (e.begin < at && previous) {
      throw new LetheError(
        `${file}: tensors '${previous.name}' (bytes ${previous.begin}..${previous.end}) and '${e.name}' (bytes ${e.begin}..${e.end}) overlap`,
      );
    }
    if (e.begin > at) {
      throw new LetheError(`${file}: bytes ${at}..${e.begin} of the data section belong to no tensor (the data must be fully indexed)`);
    }
    at = e.end;
    previous = e;
  }
  if (at !== dataLength) {
    throw new LetheError(
      `${file}: bytes ${at}..${dataLength} at the end of the data section belong to no tensor (the data must be fully indexed)`,
    );
  }
}

/** The keys of the top-level object, in order, duplicates included (JSON.parse keeps only the last). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth === 1) {
        let j = i + 1;
        while (text[j] === ' ' || text[j] === '\n' || text[j] === '\r' || text[j] === '\t') j++;
        if (text[j] === ':') keys.push(JSON.parse(text.slice(start, i + 1)) as string);
      }
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

function firstDuplicate(keys: string[]): string | undefined {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) return k;
    seen.add(k);
  }
  return undefined;
}
