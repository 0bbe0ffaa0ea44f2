// Gradients with a known closed form, checked exactly: one per kind of rule, plus the cases
// finite differences cannot see (stop-gradient, integer inputs, unused inputs).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grad } from '../../src/engine/autodiff.ts';
import { Graph } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { compile } from '../../src/engine/program.ts';

const f64 = (shape: number[], values: number[]) => ({ dtype: 'float64' as const, shape, data: Float64Array.from(values) });

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-12): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])), `[${i}] ${actual[i]} vs ${expected[i]}`);
}

test('d/dx sum(x²) = 2x', async () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [4]);
  const [gx] = grad(o.sum(o.square(x)), [x]);
  const r = await compile([x], { gx }).run({ x: f64([4], [0, -1, 2.5, -3]) });
  close(r.gx.data as Float64Array, [0, -2, 5, -6]);
});

test('cross-entropy through log-softmax: gradient is softmax − one-hot', async () => {
  const g = new Graph();
  const z = g.input('z', 'float64', [1, 3]);
  const label = g.input('label', 'int64', [1, 1]);
  const loss = o.neg(o.sum(o.gatherElements(o.logSoftmax(z, -1), label, 1)));
  const [gz] = grad(loss, [z]);
  const logits = [1, 2, 0.5];
  const r = await compile([z, label], { gz }).run({ z: f64([1, 3], logits), label: { dtype: 'int64', shape: [1, 1], data: BigInt64Array.from([1n]) } });
  const e = logits.map(Math.exp);
  const s = e.reduce((a, b) => a + b);
  close(r.gz.data as Float64Array, e.map((v, i) => v / s - (i === 1 ? 1 : 0)));
});

test('matmul gradients are g·Bᵀ and Aᵀ·g', async () => {
  const g = new Graph();
  const a = g.input('a', 'float64', [1, 2]);
  const b = g.input('b', 'float64', [2, 1]);
  const [ga, gb] = grad(o.sum(o.matmul(a, b)), [a, b]);
  const r = await compile([a, b], { ga, gb }).run({ a: f64([1, 2], [3, 4]), b: f64([2, 1], [5, 6]) });
  close(r.ga.data as Float64Array, [5, 6]);
  close(r.gb.data as Float64Array, [3, 4]);
});

test('relu has gradient 0 at 0 and below, 1 above', async () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [3]);
  const [gx] = grad(o.sum(o.relu(x)), [x]);
  const r = await compile([x], { gx }).run({ x: f64([3], [-1, 0, 2]) });
  close(r.gx.data as Float64Array, [0, 0, 1]);
});

test('stopGradient: d/dx [x · sg(exp x)] = exp x', async () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [3]);
  const [gx] = grad(o.sum(o.mul(x, o.stopGradient(o.exp(x)))), [x]);
  const r = await compile([x], { gx }).run({ x: f64([3], [0, -1, 0.5]) });
  close(r.gx.data as Float64Array, [1, Math.exp(-1), Math.exp(0.5)]);
});

test('broadcast gradients are summed back to the input shape', async () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [2, 3]);
  const b = g.input('b', 'float64', [3]);
  const [gb] = grad(o.sum(o.add(x, b)), [b]);
  const r = await compile([x, b], { gb }).run({ x: f64([2, 3], [1, 2, 3, 4, 5, 6]), b: f64([3], [0, 0, 0]) });
  close(r.gb.data as Float64Array, [2, 2, 2]);
});

test('an input the loss does not use gets a zero gradient; integer inputs get none', () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [2]);
  const unused = g.input('u', 'float64', [3]);
  const ids = g.input('ids', 'int64', [2]);
  const [gu] = grad(o.sum(x), [unused]);
  assert.deepEqual(gu.shape, [3]);
  assert.throws(() => grad(o.sum(x), [ids]), /no gradient for int64/);
  assert.throws(() => grad(x, [x]), /loss must be a scalar/);
});

test('mean over a symbolic axis divides by its run-time size', async () => {
  const g = new Graph();
  const x = g.input('x', 'float64', ['N', 2]);
  const [gx] = grad(o.mean(x), [x]);
  const p = compile([x], { gx }, { specialize: false });
  const r3 = await p.run({ x: f64([3, 2], [1, 2, 3, 4, 5, 6]) });
  close(r3.gx.data as Float64Array, Array(6).fill(1 / 6));
  const r1 = await p.run({ x: f64([1, 2], [1, 2]) });
  close(r1.gx.data as Float64Array, [0.5, 0.5]);
});

test('the gradient of a split is one concat of the pieces\' gradients, not pads added up', async () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [2, 6]);
  const [a, b, c] = o.split(x, [1, 2, 3], 1);
  const loss = o.add(o.add(o.sum(o.mul(a, 1)), o.sum(o.mul(b, 2))), o.sum(o.mul(c, 3)));
  const [gx] = grad(loss, [x]);
  assert.equal(gx.op, 'concat');
  const r = await compile([x], { gx }).run({ x: f64([2, 6], Array(12).fill(0.5)) });
  close(r.gx.data as Float64Array, [1, 2, 2, 3, 3, 3, 1, 2, 2, 3, 3, 3]);
});
