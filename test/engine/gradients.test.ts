// A finite-difference gradient check for every differentiable primitive (and the composites
// built on them), in float64 where ONNX Runtime has the kernel, on shapes drawn at random from a
// fixed seed, broadcasting included.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grad } from '../../src/engine/autodiff.ts';
import { Graph, type Tensor } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { Rng } from '../../src/engine/random.ts';
import { gradCheck, type GradCheckCase, type InputSpec } from './gradcheck.ts';

const rng = new Rng(7);
const dim = (): number => 2 + rng.int(3); // 2..4

/** A random shape of rank 1..3 and a broadcast partner (some axes 1, or fewer axes). */
function broadcastPair(): [number[], number[]] {
  const rank = 1 + rng.int(3);
  const a = Array.from({ length: rank }, dim);
  const b = a.map((d) => (rng.next() < 0.5 ? 1 : d)).slice(rng.int(rank));
  return rng.next() < 0.5 ? [a, b] : [b.length ? b : [1], a];
}

const spec = (shape: number[], domain: InputSpec['domain'] = 'any'): InputSpec => ({ shape, domain });

type Case = [name: string, c: GradCheckCase];
const cases: Case[] = [];

for (const [name, f, domain] of [
  ['add', o.add, 'any'],
  ['sub', o.sub, 'any'],
  ['mul', o.mul, 'any'],
  ['div', o.div, 'nonzero'],
  ['max', o.maximum, 'any'],
  ['min', o.minimum, 'any'],
] as const) {
  for (let k = 0; k < 2; k++) {
    const [a, b] = broadcastPair();
    cases.push([`${name} ${JSON.stringify(a)} with ${JSON.stringify(b)}`, {
      inputs: [spec(a), spec(b, domain)],
      build: ([x, y]) => f(x, y),
    }]);
  }
}

const unary: [string, (x: Tensor) => Tensor, InputSpec['domain']][] = [
  ['neg', o.neg, 'any'],
  ['sqrt', o.sqrt, 'positive'],
  ['rsqrt', o.rsqrt, 'positive'],
  ['exp', o.exp, 'any'],
  ['log', o.log, 'positive'],
  ['abs', o.abs, 'nonzero'],
  ['tanh', o.tanh, 'any'],
  ['sigmoid', o.sigmoid, 'any'],
  ['relu', o.relu, 'nonzero'],
  ['reciprocal', o.reciprocal, 'nonzero'],
  ['square', o.square, 'any'],
  ['pow 3', (x) => o.pow(x, 3), 'any'],
  ['pow -1.5', (x) => o.pow(x, -1.5), 'positive'],
  ['clip', (x) => o.clip(x, -0.7, 0.9), 'any'],
];
for (const [name, f, domain] of unary) {
  const shape = [dim(), dim()];
  // Include 0 itself wherever the function is smooth there.
  cases.push([`${name} ${JSON.stringify(shape)}`, { inputs: [{ shape, domain }], build: ([x]) => f(x) }]);
}
cases.push(
  ['tanh, sigmoid, exp, square at 0 and negatives', {
    inputs: [{ shape: [4], values: [0, -1.5, -0.25, 0.75] }],
    build: ([x]) => o.add(o.add(o.tanh(x), o.square(x)), o.add(o.sigmoid(x), o.exp(x))),
  }],
  // ONNX Runtime's CPU Erf has only a float32 kernel.
  ['erf (float32) at 0, negatives and random points', {
    inputs: [{ shape: [6], values: [0, -1.5, -0.25, 0.75, 1.9, -0.6] }, spec([2, 3])],
    build: ([x, y]) => o.add(o.erf(x), o.sum(o.erf(y))),
    dtype: 'float32',
  }],
  ['cast float32→float64→float32', {
    inputs: [spec([2, 4])],
    build: ([x]) => o.cast(o.exp(o.cast(x, 'float64')), 'float32'),
    dtype: 'float32',
  }],
);

cases.push(
  ['where', {
    inputs: [spec([3, 4]), spec([3, 4]), spec([4])],
    build: ([c, a, b]) => o.where(o.greater(c, 0), a, b),
  }],
  ['matmul [3,4]@[4,5]', { inputs: [spec([3, 4]), spec([4, 5])], build: ([a, b]) => o.matmul(a, b) }],
  ['matmul batched broadcast [2,1,3,4]@[3,4,2]', { inputs: [spec([2, 1, 3, 4]), spec([3, 4, 2])], build: ([a, b]) => o.matmul(a, b) }],
  ['matmul shared weight [2,3,4]@[4,5]', { inputs: [spec([2, 3, 4]), spec([4, 5])], build: ([a, b]) => o.matmul(a, b) }],
  ['matmul transA transB', { inputs: [spec([2, 4, 3]), spec([2, 5, 4])], build: ([a, b]) => o.matmul(a, b, { transA: true, transB: true }) }],
  ['reshape', { inputs: [spec([2, 3, 4])], build: ([x]) => o.mul(o.reshape(x, [4, -1]), o.reshape(x, [4, 6])) }],
  ['transpose', { inputs: [spec([2, 3, 4])], build: ([x]) => o.exp(o.transpose(x, [2, 0, 1])) }],
  ['unsqueeze/squeeze', { inputs: [spec([3, 4])], build: ([x]) => o.squeeze(o.mul(o.unsqueeze(x, 1), o.unsqueeze(x, 1)), 1) }],
  ['expand', { inputs: [spec([3, 1])], build: ([x]) => o.tanh(o.expand(x, [2, 3, 4])) }],
  ['concat', { inputs: [spec([2, 3]), spec([2, 2])], build: ([a, b]) => o.tanh(o.concat([a, b, a], 1)) }],
  ['slice', { inputs: [spec([4, 5])], build: ([x]) => o.slice(x, { axes: [0, 1], starts: [1, 2], ends: [3, o.END] }) }],
  ['slice negative start', { inputs: [spec([4, 5])], build: ([x]) => o.slice(x, { axes: [1], starts: [-2], ends: [o.END] }) }],
  ['split', { inputs: [spec([3, 5])], build: ([x]) => { const [a, b] = o.split(x, [2, 3], 1); return o.concat([o.exp(a), o.sigmoid(b)], 1); } }],
  ['pad', { inputs: [spec([2, 3])], build: ([x]) => o.tanh(o.pad(x, [[1, 0], [0, 2]], [3, 5])) }],
  ['gather (embedding rows, repeated)', {
    inputs: [spec([5, 3]), { shape: [2, 4], int64Max: 5, values: [0, 4, 4, 1, 2, 0, 3, 4] }],
    build: ([w, ids]) => o.tanh(o.gather(w, ids)),
  }],
  ['gatherElements (label log-probs)', {
    inputs: [spec([3, 5]), { shape: [3, 1], int64Max: 5, values: [4, 0, 2] }],
    build: ([x, ids]) => o.gatherElements(o.logSoftmax(x, -1), ids, 1),
  }],
  ['scatterNDAdd (gather\'s gradient), rows repeated', {
    inputs: [spec([4, 3]), { shape: [3, 1], int64Max: 4, values: [1, 3, 1] }, spec([3, 3])],
    build: ([data, idx, updates]) => o.tanh(o.scatterNDAdd(data, idx, updates)),
  }],
  ['scatterElementsAdd (gatherElements\' gradient)', {
    inputs: [spec([2, 4]), { shape: [2, 2], int64Max: 4, values: [3, 3, 0, 2] }, spec([2, 2])],
    build: ([data, idx, updates]) => o.tanh(o.scatterElementsAdd(data, idx, updates, 1)),
  }],
  ['reduce sum, keepdims', { inputs: [spec([2, 3, 4])], build: ([x]) => o.tanh(o.sum(x, [0, 2], true)) }],
  ['reduce sum, all', { inputs: [spec([3, 4])], build: ([x]) => o.tanh(o.sum(x)) }],
  ['reduce sum of squares, keepdims', { inputs: [spec([2, 3, 4])], build: ([x]) => o.tanh(o.sumSquares(x, [0, 2], true)) }],
  ['reduce sum of squares, all', { inputs: [spec([3, 4])], build: ([x]) => o.tanh(o.sumSquares(x)) }],
  ['reduce mean', { inputs: [spec([2, 3, 4])], build: ([x]) => o.exp(o.mean(x, 1)) }],
  ['reduce max', { inputs: [spec([3, 4])], build: ([x]) => o.exp(o.reduceMax(x, -1)) }],
  ['softmax', { inputs: [spec([3, 5])], build: ([x]) => o.softmax(x, -1) }],
  ['softmax axis 0', { inputs: [spec([3, 5])], build: ([x]) => o.softmax(x, 0) }],
  ['logSoftmax', { inputs: [spec([2, 3, 5])], build: ([x]) => o.logSoftmax(x, -1) }],
  ['fan-out: x used four times', { inputs: [spec([3, 3])], build: ([x]) => o.add(o.mul(x, x), o.matmul(x, o.tanh(x))) }],
  // A weight read as row slices that tile it, by two passes, and by a lookup (a tied output head
  // taken slice by slice in the forget and retain passes, and the embedding): the slices'
  // gradients are summed per slice and concatenated, the lookup's added (autodiff.ts combine).
  ['row slices tiling a weight, read twice, plus a lookup', {
    inputs: [spec([5, 3]), spec([2, 3]), { shape: [2], int64Max: 5, values: [4, 1] }],
    build: ([w, x, ids]) => {
      const pass = (h: Tensor) => [0, 2, 4].map((a) => o.sum(o.tanh(o.matmul(h, o.slice(w, { axes: [0], starts: [a], ends: [Math.min(5, a + 2)] }), { transB: true })))).reduce((p, q) => o.add(p, q));
      return o.add(o.add(pass(x), pass(o.exp(x))), o.sum(o.square(o.gather(w, ids))));
    },
  }],
  // Slices that leave a gap or overlap: added as padded tensors, as before.
  ['row slices with a gap and an overlap', {
    inputs: [spec([5, 3])],
    build: ([w]) => o.add(o.add(o.sum(o.exp(o.slice(w, { axes: [0], starts: [0], ends: [2] }))), o.sum(o.tanh(o.slice(w, { axes: [0], starts: [3], ends: [5] })))), o.sum(o.square(o.slice(w, { axes: [0], starts: [1], ends: [4] })))),
  }],
);

for (const [name, c] of cases) {
  test(`gradient of ${name} matches finite differences`, async () => {
    await gradCheck(c);
  });
}

test('a weight read as tiling slices gets its gradient as one concat of per-slice sums, no full-size Pad', () => {
  const g = new Graph();
  const w = g.input('w', 'float32', [6, 4]);
  const x = g.input('x', 'float32', [3, 4]);
  const pass = (h: Tensor) => [0, 3].map((a) => o.sum(o.matmul(h, o.slice(w, { axes: [0], starts: [a], ends: [a + 3] }), { transB: true }))).reduce((p, q) => o.add(p, q));
  const [gw] = grad(o.add(pass(x), pass(o.tanh(x))), [w]);
  const ops = new Set<string>();
  const stack = [gw];
  const seen = new Set<number>();
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    ops.add(t.op);
    stack.push(...t.inputs);
  }
  assert.equal(gw.op, 'concat');
  assert.equal(ops.has('pad'), false, `ops of the gradient: ${[...ops].join(', ')}`);
});
