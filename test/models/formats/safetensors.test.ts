import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostTensor } from '../../../src/models/formats/host-tensor.ts';
import { headerLength } from '../../../src/models/formats/safetensors-header.ts';
import {
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
  readSafetensorsFile,
  readSafetensorsSync,
  writeSafetensors,
} from '../../../src/models/formats/safetensors.ts';
import { f32ToBf16, f32ToF16 } from '../../../src/models/formats/half-float.ts';
import { assertLetheError, assertRejectsLethe, bytesOf, rawSafetensors } from './safetensors-bytes.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/models/', import.meta.url));
const tempDir = () => mkdtempSync(join(tmpdir(), 'lethe-safetensors-'));
const concat = (chunks: Uint8Array[]) => new Uint8Array(Buffer.concat(chunks));

function sample(): Map<string, HostTensor> {
  return new Map<string, HostTensor>([
    ['w', { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, -2.5, 3e-39, NaN, Infinity, -0]) }],
    ['scalar', { dtype: 'float32', shape: [], data: new Float32Array([7]) }],
    ['empty', { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) }],
    ['f64', { dtype: 'float64', shape: [2], data: new Float64Array([Math.PI, -1e300]) }],
    ['ids', { dtype: 'int64', shape: [3], data: new BigInt64Array([0n, -1n, 2n ** 62n]) }],
    ['i32', { dtype: 'int32', shape: [1, 2], data: new Int32Array([-7, 2 ** 31 - 1]) }],
    ['bytes', { dtype: 'uint8', shape: [3], data: new Uint8Array([0, 128, 255]) }],
    ['mask', { dtype: 'bool', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) }],
  ]);
}

function assertSameTensors(got: Map<string, HostTensor>, want: Map<string, HostTensor>): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [name, t] of want) {
    const g = got.get(name)!;
    assert.equal(g.dtype, t.dtype, name);
    assert.deepEqual(g.shape, t.shape, name);
    assert.equal(g.data.constructor, t.data.constructor, name);
    assert.deepEqual(bytesOf(g), bytesOf(t), name); // bit-exact: NaN, -0 and subnormals included
  }
}

test('write then read returns identical tensors of every dtype, by all three readers', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'model.safetensors');
    await writeSafetensors(path, sample(), { metadata: { format: 'pt', note: 'hi' } });
    assertSameTensors(await readSafetensors(path), sample());
    assertSameTensors(readSafetensorsSync(path), sample());
    const file = parseSafetensors(readFileSync(path), path);
    assertSameTensors(file.tensors, sample());
    assert.deepEqual(file.metadata, { format: 'pt', note: 'hi' });
    assert.equal(file.storedDtypes.get('ids'), 'I64');
    assert.equal(file.storedDtypes.get('mask'), 'BOOL');
    assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temporary file left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('layout: header padded with spaces to 8 bytes, tensors by descending dtype then name, offsets contiguous', () => {
  const bytes = concat(encodeSafetensors(sample()));
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  const text = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
  assert.match(text, /^\{.*\} *$/);
  const header = JSON.parse(text) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const order = Object.entries(header).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
  // safetensors' order: I64, F64, F32, I32, U8, BOOL; names ascending within a dtype
  // ('empty' holds no bytes, so it shares its offset with the next tensor).
  assert.deepEqual(order.map(([name]) => name), ['ids', 'f64', 'empty', 'scalar', 'w', 'i32', 'bytes', 'mask']);
  let at = 0;
  for (const [, info] of order) {
    assert.equal(info.data_offsets[0], at);
    at = info.data_offsets[1];
  }
  assert.equal(at, bytes.byteLength - 8 - n);
});

test('writes byte for byte the file the fixture script (PyTorch side) wrote, and reads it back exactly', async () => {
  for (const [name, dtype] of [['llama-gqa', undefined], ['llama-gqa-f16', 'F16'], ['llama-gqa-bf16', 'BF16']] as const) {
    const path = join(fixtures, name, 'model.safetensors');
    const original = readFileSync(path);
    const file = parseSafetensors(original, path);
    assert.deepEqual(file.metadata, { format: 'pt' });
    const again = concat(encodeSafetensors(file.tensors, { metadata: file.metadata, dtype }));
    assert.ok(Buffer.from(again).equals(original), `${name}: re-encoded bytes differ`);
  }
});

test('F16 and BF16 fixtures hold the F32 fixture rounded to nearest even', async () => {
  const f32 = await readSafetensors(join(fixtures, 'llama-gqa', 'model.safetensors'));
  const f16 = await readSafetensorsFile(join(fixtures, 'llama-gqa-f16', 'model.safetensors'));
  const bf16 = await readSafetensors(join(fixtures, 'llama-gqa-bf16', 'model.safetensors'));
  assert.equal(f16.storedDtypes.get('model.norm.weight'), 'F16');
  for (const [name, t] of f32) {
    const x = t.data as Float32Array;
    assert.deepEqual(f32ToF16(f16.tensors.get(name)!.data as Float32Array), f32ToF16(x), name);
    assert.deepEqual(f32ToBf16(bf16.get(name)!.data as Float32Array), f32ToBf16(x), name);
    assert.deepEqual(bf16.get(name)!.shape, t.shape);
  }
});

test('the dtype option stores floats as F16/BF16 (rounded) and leaves integers alone', () => {
  const tensors = {
    x: { dtype: 'float32', shape: [6], data: new Float32Array([1, -2.5, 65504, 1e-8, NaN, Infinity]) },
    y: { dtype: 'float64', shape: [2], data: new Float64Array([1 + 2 ** -8, 1 + 3 * 2 ** -8]) },
    ids: { dtype: 'int64', shape: [1], data: new BigInt64Array([5n]) },
  } satisfies Record<string, HostTensor>;
  const half = parseSafetensors(concat(encodeSafetensors(tensors, { dtype: 'F16' })), 'half');
  assert.deepEqual([...half.tensors.get('x')!.data], [1, -2.5, 65504, 0, NaN, Infinity]);
  assert.equal(half.storedDtypes.get('x'), 'F16');
  assert.equal(half.storedDtypes.get('ids'), 'I64');
  assert.deepEqual(half.tensors.get('ids')!.data, new BigInt64Array([5n]));
  const brain = parseSafetensors(concat(encodeSafetensors(tensors, { dtype: 'BF16' })), 'brain');
  assert.deepEqual([...brain.tensors.get('y')!.data], [1, 1.015625]); // both ties go to even: 0x3f80, 0x3f82
  assert.equal(brain.tensors.get('y')!.dtype, 'float32');
  const single = parseSafetensors(concat(encodeSafetensors(tensors, { dtype: 'F32' })), 'single');
  assert.equal(single.storedDtypes.get('y'), 'F32');
  assert.deepEqual(single.tensors.get('y')!.data, new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8]));
});

test('in-memory reads are views when aligned and copies when not', () => {
  const bytes = concat(encodeSafetensors(sample()));
  const aligned = parseSafetensors(bytes, 'aligned').tensors;
  assert.equal(aligned.get('w')!.data.buffer, bytes.buffer);
  assert.equal(aligned.get('ids')!.data.buffer, bytes.buffer);
  const shifted = new Uint8Array(bytes.byteLength + 1);
  shifted.set(bytes, 1);
  const misaligned = parseSafetensors(shifted.subarray(1), 'misaligned').tensors;
  assert.notEqual(misaligned.get('w')!.data.buffer, shifted.buffer);
  assertSameTensors(misaligned, sample());
});

test('header length: shorter than 8 bytes, past the end of the file, beyond the 100 MB cap', () => {
  assertLetheError(() => parseSafetensors(new Uint8Array(5), 'tiny.safetensors'), 'tiny.safetensors', /5 bytes, shorter than the 8-byte/);
  assertLetheError(() => parseSafetensors(rawSafetensors({}, new Uint8Array(0), 1000n), 'long.safetensors'), 'long.safetensors', /header length 1000 runs past the end of the file \(10 bytes\)/);
  assertLetheError(() => parseSafetensors(rawSafetensors({}, new Uint8Array(0), 2n ** 64n - 1n), 'huge.safetensors'), 'huge.safetensors', /runs past the end/);
  // The cap, without allocating a 100 MB file: only the prefix and the size are consulted.
  const prefix = rawSafetensors({}, new Uint8Array(0), 150_000_000n).subarray(0, 8);
  assertLetheError(() => headerLength(prefix, 400_000_000, 'big.safetensors'), 'big.safetensors', /exceeds the 100000000-byte limit/);
});

test('header content errors name the file and the problem', () => {
  const f32 = (extra: object = {}) => ({ dtype: 'F32', shape: [2], data_offsets: [0, 8], ...extra });
  const cases: [unknown, Uint8Array, RegExp][] = [
    [new Uint8Array([0x7b, 0xff, 0x7d]), new Uint8Array(0), /not valid UTF-8/],
    ['{"a": ', new Uint8Array(0), /not valid JSON/],
    ['[1, 2]', new Uint8Array(0), /not a JSON object/],
    ['null', new Uint8Array(0), /not a JSON object/],
    [{ __metadata__: [1] }, new Uint8Array(0), /__metadata__: expected an object of strings/],
    [{ __metadata__: { format: 1 } }, new Uint8Array(0), /__metadata__.format: expected a string/],
    [{ a: 3 }, new Uint8Array(8), /tensor 'a': expected \{dtype, shape, data_offsets\}/],
    [{ a: f32({ dtype: 'Q4' }) }, new Uint8Array(8), /tensor 'a': dtype 'Q4' is not a safetensors dtype \(supported: F32, F16, BF16, F64/],
    [{ a: f32({ dtype: 'I8' }) }, new Uint8Array(8), /dtype 'I8' is not supported/],
    [{ a: f32({ dtype: 5 }) }, new Uint8Array(8), /dtype: expected a string/],
    [{ a: f32({ shape: [2, -1] }) }, new Uint8Array(8), /shape: expected an array of non-negative integers, found \[2,-1\]/],
    [{ a: f32({ shape: [1.5] }) }, new Uint8Array(8), /shape: expected an array of non-negative integers/],
    [{ a: f32({ shape: '2' }) }, new Uint8Array(8), /shape: expected an array/],
    [{ a: f32({ data_offsets: [0] }) }, new Uint8Array(8), /data_offsets: expected \[begin, end\]/],
    [{ a: f32({ data_offsets: [8, 0] }) }, new Uint8Array(8), /data_offsets: expected \[begin, end\] with integers 0 <= begin <= end, found \[8,0\]/],
    [{ a: f32({ data_offsets: [0, 8.5] }) }, new Uint8Array(8), /data_offsets: expected/],
    [{ a: f32({ data_offsets: [0, 16] }) }, new Uint8Array(8), /data_offsets \[0, 16\] run past the data section \(8 bytes\)/],
    [{ a: f32({ shape: [3] }) }, new Uint8Array(8), /shape \[3\] of F32 needs 12 bytes, data_offsets \[0, 8\] hold 8/],
    [{ a: f32({ shape: [2 ** 40, 2 ** 40] }) }, new Uint8Array(8), /needs more than 2\^53 bytes/],
    [{ a: f32(), b: f32({ data_offsets: [4, 12] }) }, new Uint8Array(12), /tensors 'a' \(bytes 0..8\) and 'b' \(bytes 4..12\) overlap/],
    [{ a: f32({ data_offsets: [4, 12] }) }, new Uint8Array(12), /bytes 0..4 of the data section belong to no tensor/],
    [{ a: f32() }, new Uint8Array(12), /bytes 8..12 at the end of the data section belong to no tensor/],
    ['{"a": {"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "a": {"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8), /tensor 'a' appears twice/],
  ];
  for (const [header, data, pattern] of cases) {
    assertLetheError(() => parseSafetensors(rawSafetensors(header, data), 'bad.safetensors'), 'bad.safetensors', pattern);
  }
});

test('a valid hand-made file with gaps of zero-size tensors and odd names reads', () => {
  const header = {
    'a "quoted" name': { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    nothing: { dtype: 'I64', shape: [0], data_offsets: [4, 4] },
    b: { dtype: 'U8', shape: [2], data_offsets: [4, 6] },
  };
  const data = new Uint8Array([0, 0, 0x80, 0x3f, 9, 10]);
  const t = parseSafetensors(rawSafetensors(header, data), 'ok').tensors;
  assert.deepEqual([...t.get('a "quoted" name')!.data], [1]);
  assert.equal(t.get('nothing')!.data.length, 0);
  assert.deepEqual([...t.get('b')!.data], [9, 10]);
});

test('file readers report a missing file, a truncated file and a directory as LetheErrors', async () => {
  const dir = tempDir();
  try {
    const missing = join(dir, 'nope.safetensors');
    await assertRejectsLethe(readSafetensors(missing), missing, /file not found/);
    assertLetheError(() => readSafetensorsSync(missing), missing, /file not found/);
    const truncated = join(dir, 'cut.safetensors');
    const bytes = concat(encodeSafetensors(sample()));
    writeFileSync(truncated, bytes.subarray(0, bytes.byteLength - 3));
    await assertRejectsLethe(readSafetensors(truncated), truncated, /belong to no tensor|run past the data section/);
    assertLetheError(() => readSafetensorsSync(truncated), truncated, /belong to no tensor|run past the data section/);
    await assertRejectsLethe(readSafetensors(dir), dir, /cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the writer refuses inconsistent tensors and replaces a file atomically', async () => {
  const bad: [Record<string, HostTensor>, RegExp][] = [
    [{ a: { dtype: 'float32', shape: [3], data: new Float32Array(2) } }, /shape \[3\] holds 3 values, data has 2/],
    [{ a: { dtype: 'float32', shape: [2], data: new Int32Array(2) } }, /dtype float32 does not match its Int32Array/],
    [{ __metadata__: { dtype: 'float32', shape: [1], data: new Float32Array(1) } }, /reserved/],
    [{ a: { dtype: 'float32', shape: [-1], data: new Float32Array(0) } }, /bad shape/],
  ];
  for (const [tensors, pattern] of bad) assertLetheError(() => encodeSafetensors(tensors, {}, 'out.safetensors'), 'out.safetensors', pattern);

  const dir = tempDir();
  try {
    const path = join(dir, 'model.safetensors');
    writeFileSync(path, 'old contents');
    await writeSafetensors(path, { x: { dtype: 'float32', shape: [1], data: new Float32Array([3]) } });
    assert.deepEqual([...(await readSafetensors(path)).get('x')!.data], [3]);
    assert.deepEqual(readdirSync(dir), ['model.safetensors']);
    const nowhere = join(dir, 'no-such-dir', 'model.safetensors');
    await assertRejectsLethe(writeSafetensors(nowhere, {}), nowhere, /could not write/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lazy tensors are written as the same bytes as eager ones, each made once in file order; one made wrong leaves no file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-st-lazy-'));
  try {
    const a: HostTensor = { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0.1, -0, 7]) };
    const b: HostTensor = { dtype: 'int64', shape: [2], data: BigInt64Array.from([5n, -9n]) };
    const c: HostTensor = { dtype: 'float32', shape: [3], data: Float32Array.from([0.3, 1e-8, -4]) };
    const made: string[] = [];
    const lazy = (name: string, t: HostTensor) => ({ dtype: t.dtype, shape: t.shape, make: () => (made.push(name), t) });
    for (const dtype of [undefined, 'BF16', 'F16'] as const) {
      made.length = 0;
      const eager = Buffer.concat(encodeSafetensors(new Map([['w.a', a], ['w.b', b], ['w.c', c]]), { metadata: { format: 'pt' }, dtype }));
      const path = join(dir, `lazy-${dtype ?? 'as-is'}.safetensors`);
      await writeSafetensors(path, new Map<string, HostTensor | ReturnType<typeof lazy>>([['w.c', lazy('w.c', c)], ['w.a', lazy('w.a', a)], ['w.b', b]]), { metadata: { format: 'pt' }, dtype });
      assert.ok(readFileSync(path).equals(eager), `${dtype ?? 'as-is'}: same bytes`);
      // The file's order: floats by name (w.a, w.c) after the int64 tensor, each made once.
      assert.deepEqual(made, ['w.a', 'w.c']);
    }
    const path = join(dir, 'wrong.safetensors');
    const wrong = { dtype: 'float32' as const, shape: [4], make: (): HostTensor => c };
    await assertRejectsLethe(writeSafetensors(path, new Map([['w.c', wrong]])), path, /tensor 'w\.c': made as float32 \[3\], declared float32 \[4\]/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('wrong') || f.startsWith('.')), [], 'no file or temporary left');
    // A declaration is checked as a held tensor's name, dtype and shape are, before anything is made.
    let makes = 0;
    const declared = (shape: number[]) => ({ dtype: 'float32' as const, shape, make: (): HostTensor => (makes++, c) });
    await assertRejectsLethe(writeSafetensors(path, new Map([['w.c', declared([-3])]])), path, /tensor 'w\.c': bad shape \[-3\]/);
    await assertRejectsLethe(writeSafetensors(path, new Map([['__metadata__', declared([3])]])), path, /'__metadata__' is reserved/);
    assert.equal(makes, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
