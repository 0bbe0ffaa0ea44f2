// Shape inference at build time (errors name the op and the shapes), symbolic dimensions, and
// the compiled program's checks, shape buckets and caller-owned output buffers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LetheError, ShapeError } from '../../src/engine/errors.ts';
import { Graph } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { compile } from '../../src/engine/program.ts';
import { dimProduct, dimQuotient } from '../../src/engine/shape.ts';

const f32 = (shape: number[], values?: number[]) => ({
  dtype: 'float32' as const,
  shape,
  data: values ? Float32Array.from(values) : new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => i),
});

test('mismatched shapes are reported at build time, naming the op and the shapes', () => {
  const g = new Graph();
  const a = g.input('a', 'float32', [2, 3]);
  const b = g.input('b', 'float32', [4, 3]);
  assert.throws(() => o.add(a, b), (e: Error) => e instanceof ShapeError && /add: shapes \[2, 3\] and \[4, 3\] do not broadcast/.test(e.message));
  assert.throws(() => o.matmul(a, b), /matmul: inner dimensions differ: \[2, 3\] @ \[4, 3\]/);
  assert.throws(() => o.reshape(a, [4, 2]), /reshape: \[2, 3\] has 6 elements/);
  assert.throws(() => o.concat([a, g.input('c', 'float32', [2, 2])], 0), /concat: \[2, 3\], \[2, 2\] differ off axis 0/);
  assert.throws(() => o.transpose(a, [0, 0]), /transpose: permutation/);
  assert.throws(() => o.sum(a, 2), /axis 2 is out of range for rank 2/);
  assert.throws(() => o.gather(a, a), /gather: indices must be int64/);
  assert.throws(() => o.exp(g.input('i', 'int64', [2])), /exp: needs a float tensor, got int64/);
  assert.throws(() => o.add(a, g.input('d', 'float64', [2, 3])), /add: dtypes differ \(float32 vs float64\)/);
  assert.throws(() => g.input('a', 'float32', [1]), /already exists/);
});

test('symbolic dimensions: broadcasting, products and reshapes keep their names', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['B', 'T', 8]);
  assert.deepEqual(o.add(x, g.input('bias', 'float32', [8])).shape, ['B', 'T', 8]);
  assert.deepEqual(o.reshape(x, [-1, 8]).shape, ['B*T', 8]);
  assert.deepEqual(o.reshape(x, ['B', 'T', 2, 4]).shape, ['B', 'T', 2, 4]);
  assert.deepEqual(o.reshape(o.reshape(x, [-1, 8]), ['B', -1, 8]).shape, ['B', 'T', 8]);
  assert.equal(dimProduct(['T', 'B', 3]), '3*B*T');
  assert.equal(dimQuotient('3*B*T', 'B'), '3*T');
  assert.equal(dimQuotient('B', 'T'), null);
  assert.throws(() => o.add(x, g.input('y', 'float32', ['B', 'S', 8])), /do not broadcast \(axis 1: T vs S\)/);
});

test('a program checks its feeds and names the input', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['B', 3]);
  const p = compile([x], { y: o.mul(x, 2) });
  await assert.rejects(p.run({}), (e: Error) => e instanceof LetheError && /missing input "x"/.test(e.message));
  await assert.rejects(p.run({ x: f32([2, 4]) }), /input "x" must have shape \[B, 3\], got \[2, 4\]/);
  await assert.rejects(p.run({ x: { dtype: 'float64', shape: [1, 3], data: new Float64Array(3) } }), /must be float32, got float64/);
  await assert.rejects(p.run({ x: { dtype: 'float32', shape: [2, 3], data: new Float32Array(5) } }), /has shape \[2, 3\] but 5 values/);
  const g2 = new Graph();
  const a = g2.input('a', 'float32', ['N']);
  const b = g2.input('b', 'float32', ['N']);
  await assert.rejects(compile([a, b], { c: o.add(a, b) }).run({ a: f32([2]), b: f32([3]) }), /dimension N is 2 in one input and 3 in "b"/);
});

test('one compiled session per shape bucket, reused; specialised and dynamic programs agree', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['B', 'T', 4]);
  const y = o.softmax(o.reshape(o.mul(x, x), [-1, 4]), -1);
  const total = o.sum(o.mul(y, o.sizeOf(g, ['B', 'T'])));
  const special = compile([x], { y, total });
  const dynamic = compile([x], { y, total }, { specialize: false });
  for (const shape of [[1, 2, 4], [2, 3, 4], [1, 2, 4]]) {
    const feeds = { x: f32(shape) };
    const [s, d] = [await special.run(feeds), await dynamic.run(feeds)];
    assert.deepEqual(s.y.shape, [shape[0] * shape[1], 4]);
    assert.deepEqual([...s.y.data], [...d.y.data]);
    // Each softmax row sums to 1, times B·T, over B·T rows.
    assert.ok(Math.abs(Number(s.total.data[0]) - (shape[0] * shape[1]) ** 2) < 1e-3);
  }
  assert.equal(special.compiledBuckets, 2);
  assert.equal(dynamic.compiledBuckets, 1);
});

test('outputs can be written into caller-owned buffers', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [3]);
  const p = compile([x], { y: o.add(x, 1), z: o.mul(x, 3) });
  const into = f32([3], [0, 0, 0]);
  const r = await p.run({ x: f32([3], [1, 2, 3]) }, { y: into });
  assert.equal(r.y, into);
  assert.deepEqual([...into.data], [2, 3, 4]);
  assert.deepEqual([...r.z.data], [3, 6, 9]);
});

test('range and causal masks follow the run-time sequence length', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['T', 2]);
  const pos = o.range(g, 'T');
  const mask = o.cast(o.greater(o.unsqueeze(pos, 0), o.unsqueeze(pos, 1)), 'float32');
  const p = compile([x], { mask });
  const r = await p.run({ x: f32([3, 2]) });
  assert.deepEqual([...r.mask.data], [0, 1, 1, 0, 0, 1, 0, 0, 0]);
});

test('argmax picks the first largest index along an axis', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3]);
  const r = await compile([x], { i: o.argmax(x, -1) }).run({ x: f32([2, 3], [1, 5, 5, -1, -3, -2]) });
  assert.equal(r.i.dtype, 'int64');
  assert.deepEqual([...r.i.data], [1n, 0n]);
});
