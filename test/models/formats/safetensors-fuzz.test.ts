// Property tests: whatever bytes a safetensors reader is handed, it either returns tensors that
// are consistent (data fits the shape, array type fits the dtype) or throws a LetheError that
// names the file. Never another exception, never a hang, never a huge allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { LetheError } from '../../../src/engine/errors.ts';
import { shapeSize, type HostTensor } from '../../../src/models/formats/host-tensor.ts';
import { encodeSafetensors, parseSafetensors, readSafetensorsSync } from '../../../src/models/formats/safetensors.ts';
import { bytesOf, rawSafetensors } from './safetensors-bytes.ts';

const FILE = 'fuzzed.safetensors';
const ARRAY_FOR = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array, bfloat16: Uint16Array, float16: Uint16Array,
} as const;

/** Returns 'ok' with consistent tensors, or 'rejected' for a LetheError naming the file; anything else fails. */
function readOrReject(read: () => Map<string, HostTensor>, file = FILE): 'ok' | 'rejected' {
  let tensors: Map<string, HostTensor>;
  try {
    tensors = read();
  } catch (err) {
    if (!(err instanceof LetheError)) throw new Error(`not a LetheError: ${String(err)}`, { cause: err });
    assert.ok(err.message.startsWith(`${file}: `), err.message);
    return 'rejected';
  }
  for (const [name, t] of tensors) {
    assert.ok(t.data instanceof ARRAY_FOR[t.dtype], `${name}: ${t.dtype} in a ${t.data.constructor.name}`);
    assert.equal(t.data.length, shapeSize(t.shape), name);
    assert.ok(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), name);
  }
  return 'ok';
}

// Small valid tensor maps of every stored dtype, with arbitrary bytes as data.
const tensorArb: fc.Arbitrary<HostTensor> = fc
  .record({
    dtype: fc.constantFrom('float32', 'float64', 'int64', 'int32', 'uint8', 'bool'),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    seed: fc.uint8Array({ minLength: 0, maxLength: 64 * 8 }),
  })
  .map(({ dtype, shape, seed }) => {
    const n = shapeSize(shape);
    const Array = ARRAY_FOR[dtype as keyof typeof ARRAY_FOR];
    const bytes = new Uint8Array(n * Array.BYTES_PER_ELEMENT);
    for (let i = 0; i < bytes.length; i++) bytes[i] = seed.length ? seed[i % seed.length] ^ (dtype === 'bool' ? 0 : i) : i;
    if (dtype === 'bool') bytes.forEach((b, i) => (bytes[i] = b & 1));
    return { dtype, shape, data: new Array(bytes.buffer) } as HostTensor;
  });
const tensorsArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s !== '__metadata__'), tensorArb, { maxKeys: 5 });
const fileArb = fc
  .record({ tensors: tensorsArb, dtype: fc.constantFrom(undefined, 'F16' as const, 'BF16' as const) })
  .map(({ tensors, dtype }) => ({ tensors, bytes: new Uint8Array(Buffer.concat(encodeSafetensors(tensors, { dtype, metadata: { format: 'pt' } }))) }));

test('valid files round-trip bit for bit', () => {
  fc.assert(
    fc.property(tensorsArb, (tensors) => {
      const bytes = new Uint8Array(Buffer.concat(encodeSafetensors(tensors)));
      const got = parseSafetensors(bytes, FILE).tensors;
      assert.equal(got.size, Object.keys(tensors).length);
      for (const [name, t] of Object.entries(tensors)) {
        assert.deepEqual(got.get(name)!.shape, t.shape);
        assert.deepEqual(bytesOf(got.get(name)!), bytesOf(t));
      }
    }),
  );
});

test('a file truncated anywhere is rejected with the file named', () => {
  fc.assert(
    fc.property(fileArb, fc.nat(), ({ bytes }, cut) => {
      const at = cut % bytes.byteLength; // strictly shorter than the file
      assert.equal(readOrReject(() => parseSafetensors(bytes.subarray(0, at), FILE).tensors), 'rejected');
    }),
  );
});

test('any header length in the first 8 bytes: consistent tensors or a LetheError', () => {
  fc.assert(
    fc.property(fileArb, fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 600n })), ({ bytes }, n) => {
      const copy = bytes.slice();
      new DataView(copy.buffer).setBigUint64(0, n, true);
      readOrReject(() => parseSafetensors(copy, FILE).tensors);
    }),
  );
});

test('random bytes written over the header or data: consistent tensors or a LetheError', () => {
  fc.assert(
    fc.property(fileArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), ({ bytes }, edits) => {
      const copy = bytes.slice();
      const headerEnd = Math.min(copy.byteLength, 8 + Number(new DataView(copy.buffer).getBigUint64(0, true)));
      // Mostly the JSON (the interesting part), sometimes anywhere.
      for (const [where, value] of edits) copy[where % 3 === 0 ? where % copy.byteLength : 8 + (where % (headerEnd - 8))] = value;
      readOrReject(() => parseSafetensors(copy, FILE).tensors);
    }),
  );
});

// Header fields replaced by arbitrary JSON values of the kinds a broken writer produces.
const numberArb = fc.oneof(fc.integer({ min: -10, max: 200 }), fc.double(), fc.constantFrom(2 ** 53, 2 ** 64, -0, 1e308), fc.nat());
const jsonish = fc.oneof(numberArb, fc.string({ maxLength: 6 }), fc.constant(null), fc.boolean(), fc.array(numberArb, { maxLength: 4 }));
const dtypeArb = fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'U8', 'BOOL', 'I8', 'U64', 'f32', ''), jsonish);

test('mutated header fields (offsets, shapes, dtypes, names): consistent tensors or a LetheError', () => {
  const mutation = fc.record({
    field: fc.constantFrom('dtype', 'shape', 'data_offsets', 'entry', 'duplicate', 'metadata'),
    which: fc.nat(),
    dtype: dtypeArb,
    shape: fc.oneof(fc.array(numberArb, { maxLength: 4 }), jsonish),
    offsets: fc.oneof(fc.tuple(numberArb, numberArb), fc.array(numberArb, { maxLength: 3 }), jsonish),
    entry: jsonish,
  });
  fc.assert(
    fc.property(tensorsArb, mutation, (tensors, m) => {
      const bytes = new Uint8Array(Buffer.concat(encodeSafetensors(tensors, { metadata: { format: 'pt' } })));
      const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<string, Record<string, unknown>>;
      const data = bytes.subarray(8 + n);
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      const name = names.length ? names[m.which % names.length] : 'x';
      let text: string | undefined;
      if (m.field === 'metadata') header.__metadata__ = m.entry as never;
      else if (m.field === 'entry') header[name] = m.entry as never;
      else if (m.field === 'duplicate') text = JSON.stringify(header).replace(/\}$/, `,${JSON.stringify(name)}:${JSON.stringify(header[name] ?? {})}}`);
      else {
        header[name] ??= {};
        header[name][m.field] = m.field === 'dtype' ? m.dtype : m.field === 'shape' ? m.shape : m.offsets;
      }
      const result = readOrReject(() => parseSafetensors(rawSafetensors(text ?? header, data), FILE).tensors);
      if (m.field === 'duplicate' && names.length > 0) assert.equal(result, 'rejected');
    }),
  );
});

test('arbitrary bytes: consistent tensors or a LetheError', () => {
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    // A plausible length prefix followed by JSON-ish text, to get past the first check.
    fc.tuple(fc.string({ maxLength: 80 }), fc.uint8Array({ maxLength: 32 })).map(([s, d]) => rawSafetensors(s, d)),
    fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.uint8Array({ maxLength: 32 })).map(([j, d]) => rawSafetensors(j, d)),
  );
  fc.assert(fc.property(arb, (bytes) => void readOrReject(() => parseSafetensors(bytes, FILE).tensors)), { numRuns: 300 });
});

test('the file reader agrees: truncated files on disk are rejected with the path named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-fuzz-'));
  try {
    const path = join(dir, 'model.safetensors');
    fc.assert(
      fc.property(fileArb, fc.nat(), ({ bytes }, cut) => {
        writeFileSync(path, bytes.subarray(0, cut % bytes.byteLength));
        assert.equal(readOrReject(() => readSafetensorsSync(path), path), 'rejected');
      }),
      { numRuns: 40 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
