// Read and write Hugging Face safetensors files (https://huggingface.co/docs/safetensors).
//
// Reading checks the whole header first (safetensors-header.ts), then reads each tensor's bytes
// into an array of its own: F32/F64/I64/I32/U8/BOOL data is used as read, F16 and BF16 widen to
// float32. From an in-memory file (`parseSafetensors`) tensors are views on its buffer when
// aligned, copied only when not. Writing follows the `safetensors` package: tensors in
// descending dtype order then by name (so every tensor stays aligned), the header padded with
// spaces to 8 bytes, and the file written under a temporary name and renamed.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { collectGarbage } from '../../engine/collect-garbage.ts';
import { LetheError } from '../../engine/errors.ts';
import { bf16ToF32, decodeFloatsInto, f16ToF32, f32ToBf16, f32ToF16 } from './half-float.ts';
import type { HostDType, HostTensor } from './host-tensor.ts';
import {
  headerLength,
  parseSafetensorsHeader,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  type TensorEntry,
} from './safetensors-header.ts';
import { writeFileAtomic } from './write-file-atomic.ts';

export type { SafetensorsDtype } from './safetensors-header.ts';

export interface SafetensorsFile {
  tensors: Map<string, HostTensor>;
  /** The header's free-form `__metadata__` (HF writes `{"format": "pt"}`). */
  metadata: Record<string, string>;
  /** How each tensor was stored, e.g. to save it back in the same precision. */
  storedDtypes: Map<string, SafetensorsDtype>;
}

export interface ReadSafetensorsOptions {
  /**
   * Which tensors (by stored name) to hold transposed: a 2-D F32/F16/BF16 tensor [R, C] then
   * comes back as float32 [C, R] with `transposed: true`. Such tensors (and every F16/BF16 one)
   * are read into one reused buffer and decoded straight into their final array, so reading a
   * checkpoint allocates nothing but the arrays it returns.
   */
  transpose?: (name: string) => boolean;
  /**
   * Keep F16 and BF16 tensors at their precision (dtype float16/bfloat16, the bit patterns in a
   * Uint16Array: half the bytes of float32) instead of widening them to float32. Default false.
   */
  keepHalf?: boolean;
}

/** The tensors of a safetensors file. */
export async function readSafetensors(path: string, options: ReadSafetensorsOptions = {}): Promise<Map<string, HostTensor>> {
  return (await readSafetensorsFile(path, options)).tensors;
}

/** Tensors, metadata and stored dtypes of a safetensors file. */
export async function readSafetensorsFile(path: string, options: ReadSafetensorsOptions = {}): Promise<SafetensorsFile> {
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw cannotRead(path, err);
  });
  try {
    const size = (await handle.stat()).size;
    let scratch = new Uint8Array(0);
    const read = async (position: number, length: number, reuse = false): Promise<Uint8Array> => {
      if (reuse && scratch.byteLength < length) scratch = new Uint8Array(length);
      const bytes = reuse ? scratch.subarray(0, length) : new Uint8Array(length);
      for (let got = 0; got < length; ) {
        const { bytesRead } = await handle.read(bytes, got, length - got, position + got);
        if (bytesRead === 0) throw new LetheError(`${path}: file ended while reading (changed while being read?)`);
        got += bytesRead;
      }
      return bytes;
    };
    const n = headerLength(await read(0, Math.min(8, size)), size, path);
    const header = parseSafetensorsHeader(await read(8, n), size - 8 - n, path);
    const tensors = new Map<string, HostTensor>();
    for (const e of header.entries) {
      const transpose = e.shape.length === 2 && (options.transpose?.(e.name) ?? false);
      const kind = e.dtype === 'F32' || e.dtype === 'F16' || e.dtype === 'BF16' ? e.dtype : null;
      if (kind && (transpose || kind !== 'F32')) {
        if (!littleEndian) throw new LetheError('safetensors: reading needs a little-endian machine');
        const bytes = await read(8 + n + e.begin, e.end - e.begin, true);
        const [rows, cols] = e.shape.length === 2 ? e.shape : [1, bytes.byteLength / SAFETENSORS_DTYPES[kind].bytes];
        const count = bytes.byteLength / SAFETENSORS_DTYPES[kind].bytes;
        const shape = transpose ? [cols, rows] : e.shape;
        const flag = transpose ? { transposed: true } : {};
        if (kind !== 'F32' && options.keepHalf) {
          const out = new Uint16Array(count);
          copyHalfInto(new Uint16Array(bytes.buffer, 0, count), out, rows, cols, transpose);
          tensors.set(e.name, { dtype: kind === 'BF16' ? 'bfloat16' : 'float16', shape, data: out, stored: kind, ...flag });
        } else {
          const out = new Float32Array(count);
          const src = kind === 'F32' ? new Float32Array(bytes.buffer, 0, count) : new Uint16Array(bytes.buffer, 0, count);
          decodeFloatsInto(kind, src, out, rows, cols, transpose);
          tensors.set(e.name, { dtype: 'float32', shape, data: out, stored: kind, ...flag });
        }
      } else {
        const t = decodeTensor(e, await read(8 + n + e.begin, e.end - e.begin));
        tensors.set(e.name, e.dtype === 'F32' || e.dtype === 'F64' ? { ...t, stored: e.dtype } : t);
      }
    }
    return { tensors, metadata: header.metadata, storedDtypes: storedDtypes(header.entries) };
  } catch (err) {
    throw err instanceof LetheError ? err : cannotRead(path, err as NodeJS.ErrnoException);
  } finally {
    await handle.close();
  }
}

/** The tensors of a safetensors file, read synchronously. */
export function readSafetensorsSync(path: string): Map<string, HostTensor> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw cannotRead(path, err as NodeJS.ErrnoException);
  }
  try {
    const size = fstatSync(fd).size;
    const read = (position: number, length: number): Uint8Array => {
      const bytes = new Uint8Array(length);
      for (let got = 0; got < length; ) {
        const bytesRead = readSync(fd, bytes, got, length - got, position + got);
        if (bytesRead === 0) throw new LetheError(`${path}: file ended while reading (changed while being read?)`);
        got += bytesRead;
      }
      return bytes;
    };
    const n = headerLength(read(0, Math.min(8, size)), size, path);
    const header = parseSafetensorsHeader(read(8, n), size - 8 - n, path);
    const tensors = new Map<string, HostTensor>();
    for (const e of header.entries) tensors.set(e.name, decodeTensor(e, read(8 + n + e.begin, e.end - e.begin)));
    return tensors;
  } catch (err) {
    throw err instanceof LetheError ? err : cannotRead(path, err as NodeJS.ErrnoException);
  } finally {
    closeSync(fd);
  }
}

/** A safetensors file already in memory; `file` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  const n = headerLength(bytes, bytes.byteLength, file);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.byteLength - 8 - n, file);
  const data = bytes.subarray(8 + n);
  const tensors = new Map<string, HostTensor>();
  for (const e of header.entries) tensors.set(e.name, decodeTensor(e, data.subarray(e.begin, e.end)));
  return { tensors, metadata: header.metadata, storedDtypes: storedDtypes(header.entries) };
}

/** 16-bit patterns [rows, cols] → `out`, as they are or transposed to [cols, rows]. */
function copyHalfInto(src: Uint16Array, out: Uint16Array, rows: number, cols: number, transpose: boolean): void {
  if (!transpose) out.set(src);
  else for (let r = 0; r < rows; r++) for (let c = 0, base = r * cols; c < cols; c++) out[c * rows + r] = src[base + c];
}

function cannotRead(path: string, err: NodeJS.ErrnoException): LetheError {
  return new LetheError(err.code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read the file (${err.code ?? err.message})`);
}

function storedDtypes(entries: TensorEntry[]): Map<string, SafetensorsDtype> {
  return new Map(entries.map((e) => [e.name, e.dtype]));
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type ArrayOf<T> = new (buffer: ArrayBuffer, byteOffset: number, length: number) => T;

/** A typed view on `bytes`, or on a copy when they are not aligned to the element size. */
function view<T>(ArrayType: ArrayOf<T>, itemBytes: number, bytes: Uint8Array): T {
  const aligned = bytes.byteOffset % itemBytes === 0 && bytes.buffer instanceof ArrayBuffer;
  const buffer = aligned ? bytes : bytes.slice();
  return new ArrayType(buffer.buffer as ArrayBuffer, buffer.byteOffset, bytes.byteLength / itemBytes);
}

/** `bytes` holds exactly the tensor's data (its length was checked against the shape). */
function decodeTensor(e: TensorEntry, bytes: Uint8Array): HostTensor {
  if (!littleEndian) throw new LetheError('safetensors: reading needs a little-endian machine');
  const shape = e.shape;
  switch (e.dtype) {
    case 'F32': return { dtype: 'float32', shape, data: view(Float32Array, 4, bytes) };
    case 'F16': return { dtype: 'float32', shape, data: f16ToF32(view(Uint16Array, 2, bytes)) };
    case 'BF16': return { dtype: 'float32', shape, data: bf16ToF32(view(Uint16Array, 2, bytes)) };
    case 'F64': return { dtype: 'float64', shape, data: view(Float64Array, 8, bytes) };
    case 'I64': return { dtype: 'int64', shape, data: view(BigInt64Array, 8, bytes) };
    case 'I32': return { dtype: 'int32', shape, data: view(Int32Array, 4, bytes) };
    case 'U8': return { dtype: 'uint8', shape, data: view(Uint8Array, 1, bytes) };
    case 'BOOL': return { dtype: 'bool', shape, data: view(Uint8Array, 1, bytes) };
  }
}

// ---------------------------------------------------------------------------------------------
// writing

export interface WriteSafetensorsOptions {
  /** Free-form strings stored as `__metadata__`; `{format: 'pt'}` lets transformers load the file. */
  metadata?: Record<string, string>;
  /** Store float tensors as this type (F16/BF16 round to nearest even). Default: as they are. */
  dtype?: 'F32' | 'F16' | 'BF16';
}

const STORED: Record<HostDType, SafetensorsDtype> = {
  float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL', bfloat16: 'BF16', float16: 'F16',
};

const ARRAY_OF: Record<HostDType, new (n: number) => object> = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array, bfloat16: Uint16Array, float16: Uint16Array,
};

/**
 * A tensor made only when the writer reaches it (e.g. a weight merged with its adapters and
 * transposed to the Hugging Face layout), so a whole model need not exist twice while it is
 * written. `dtype` and `shape` are what `make` returns (the header is written first).
 */
export interface LazyTensor {
  dtype: HostDType;
  shape: readonly number[];
  make(): HostTensor;
}

type WritableTensors = ReadonlyMap<string, HostTensor | LazyTensor> | Readonly<Record<string, HostTensor | LazyTensor>>;

/**
 * Made or converted bytes after which the writer collects them before making the next tensor:
 * a save's garbage stays below this plus one weight's copies (a collection takes a few ms).
 */
export const WRITE_COLLECT_BYTES = 16 * 2 ** 20;

/** Whether `t` is made on demand (a LazyTensor) rather than held. */
export const isLazy = (t: HostTensor | LazyTensor): t is LazyTensor => typeof (t as LazyTensor).make === 'function';
const isFloatDtype = (d: HostDType) => d === 'float32' || d === 'float64' || d === 'bfloat16' || d === 'float16';

/**
 * Writes `tensors` to `path` atomically (temporary file, then rename), one tensor at a time: a
 * LazyTensor is made, converted and written before the next is made.
 */
export async function writeSafetensors(path: string, tensors: WritableTensors, options: WriteSafetensorsOptions = {}): Promise<void> {
  await writeFileAtomic(path, safetensorsChunks(tensors, options, path));
}

/** The file's bytes as chunks: length and header first, then each tensor's data. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>,
  options: WriteSafetensorsOptions = {},
  file = 'safetensors',
): Uint8Array[] {
  return [...safetensorsChunks(tensors, options, file)];
}

/**
 * The chunks of a safetensors file, made as they are consumed. The header (tensors ordered by
 * stored dtype, then name) is computed from declared dtypes and shapes; a lazy tensor that comes
 * out differently is an error, and the file is not written.
 */
function* safetensorsChunks(tensors: WritableTensors, options: WriteSafetensorsOptions, file: string): Generator<Uint8Array> {
  const entries: [string, HostTensor | LazyTensor][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const storedAs = (d: HostDType): SafetensorsDtype => (isFloatDtype(d) && options.dtype !== undefined ? options.dtype : STORED[d]);
  const planned = entries.map(([name, t]) => {
    // A lazy tensor's declaration is checked now, its data when it is made.
    checkDeclared(name, t, file);
    if (!isLazy(t)) checkData(name, t, file);
    const stored = storedAs(t.dtype);
    const values = t.shape.reduce((a: number, d: number) => a * d, 1);
    return { name, t, stored, shape: [...t.shape], bytes: values * SAFETENSORS_DTYPES[stored].bytes };
  });
  planned.sort((a, b) => SAFETENSORS_DTYPES[b.stored].order - SAFETENSORS_DTYPES[a.stored].order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (options.metadata) {
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== 'string') throw new LetheError(`${file}: metadata '${k}' must be a string`);
    }
    header.__metadata__ = options.metadata;
  }
  let offset = 0;
  for (const e of planned) {
    header[e.name] = { dtype: e.stored, shape: e.shape, data_offsets: [offset, offset + e.bytes] };
    offset += e.bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.byteLength % 8)) % 8;
  if (pad > 0) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.byteLength));
  yield prefix;
  yield json;
  // Array memory after the last collection: what it grew by since is tensors made, merged,
  // converted, and garbage once written.
  const arrays = () => process.memoryUsage().arrayBuffers;
  let collected = arrays();
  for (const e of planned) {
    if (arrays() - collected >= WRITE_COLLECT_BYTES) {
      collectGarbage();
      collected = arrays();
    }
    let t = e.t;
    if (isLazy(t)) {
      t = t.make();
      checkData(e.name, t, file);
      // Stored as the header says, in the declared shape: so exactly the header's bytes.
      if (storedAs(t.dtype) !== e.stored || t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
        throw new LetheError(`${file}: tensor '${e.name}': made as ${t.dtype} [${t.shape}], declared ${e.t.dtype} [${e.shape}]`);
      }
    }
    yield encodeTensor(t, options.dtype);
  }
}

/** What a tensor's name, dtype and shape must be, held or lazy: not the reserved name, a known dtype, whole sizes. */
function checkDeclared(name: string, t: { dtype: HostDType; shape: readonly number[] }, file: string): void {
  const where = `${file}: tensor '${name}'`;
  if (name === '__metadata__') throw new LetheError(`${file}: '__metadata__' is reserved and cannot name a tensor`);
  if (!Object.hasOwn(STORED, t.dtype)) throw new LetheError(`${where}: unknown dtype '${t.dtype}'`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new LetheError(`${where}: bad shape [${t.shape}]`);
}

/** A held tensor's data: the array type of its dtype, as many values as its shape holds. */
function checkData(name: string, t: HostTensor, file: string): void {
  const where = `${file}: tensor '${name}'`;
  if (!(t.data instanceof ARRAY_OF[t.dtype])) throw new LetheError(`${where}: dtype ${t.dtype} does not match its ${t.data.constructor.name}`);
  const values = t.shape.reduce((a, d) => a * d, 1);
  if (values !== t.data.length) throw new LetheError(`${where}: shape [${t.shape}] holds ${values} values, data has ${t.data.length}`);
}

/** A checked tensor's bytes as stored: a view when kept as it is, else converted (F16/BF16 round to nearest even). */
function encodeTensor(t: HostTensor, target: WriteSafetensorsOptions['dtype']): Uint8Array {
  if (!isFloatDtype(t.dtype) || target === undefined || target === STORED[t.dtype]) return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const f32 = t.data instanceof Float32Array ? t.data
    : t.dtype === 'bfloat16' ? bf16ToF32(t.data as Uint16Array)
      : t.dtype === 'float16' ? f16ToF32(t.data as Uint16Array) : Float32Array.from(t.data as Float64Array);
  const out = target === 'F32' ? f32 : target === 'F16' ? f32ToF16(f32) : f32ToBf16(f32);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
