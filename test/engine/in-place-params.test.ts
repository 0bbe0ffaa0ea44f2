// The train step writes each new parameter value into the parameter's own input buffer. That is
// safe only if every other node reading the parameter runs before the write, whatever order ONNX
// Runtime picks: each reader must be an ancestor of the node writing the new value. These tests
// check that on the step graphs (the values are checked step by step in optim.test.ts), including
// graphs where nothing but the barrier orders a reader before the write: a report reading the
// weights, a loss linear in them (its gradient does not read them), plain SGD without clipping.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { Graph, type Tensor } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { buildTrainStep, TrainStep, type OptimizerOptions, type TrainStepSpec } from '../../src/engine/train-step.ts';

function ancestors(t: Tensor): Set<Tensor> {
  const seen = new Set<Tensor>();
  const stack = [t];
  while (stack.length) {
    const x = stack.pop()!;
    if (seen.has(x)) continue;
    seen.add(x);
    stack.push(...x.inputs);
  }
  return seen;
}

/** Readers of each parameter the program computes that are not ancestors of its new value. */
function unorderedReaders(spec: TrainStepSpec): string[] {
  const { program } = buildTrainStep(spec);
  const live = new Set<Tensor>();
  for (const out of Object.values(program.outputs)) for (const a of ancestors(out)) live.add(a);
  const bad: string[] = [];
  for (const p of spec.params) {
    const before = ancestors(program.outputs[`${p.name}.next`]);
    for (const r of live) if (r.inputs.includes(p) && !before.has(r)) bad.push(`${p.name} read by ${r}`);
  }
  return bad;
}

const OPTIMIZERS: [string, OptimizerOptions][] = [
  ['plain SGD', { kind: 'sgd', momentum: 0, weightDecay: 0 }],
  ['SGD, momentum, clipping', { kind: 'sgd', momentum: 0.9, maxGradNorm: 1 }],
  ['AdamW', { kind: 'adamw', weightDecay: 0.01 }],
  ['AdamW, clipping', { kind: 'adamw', maxGradNorm: 1 }],
  ['Sophia', { kind: 'sophia', batchSize: 2 }],
];

/** A two-layer MLP whose loss is linear in the second layer, with a report reading both weights. */
function mlpSpec(optimizer: OptimizerOptions): TrainStepSpec {
  const g = new Graph();
  const w1 = g.input('w1', 'float32', [3, 4]);
  const w2 = g.input('w2', 'float32', [4, 2]);
  const x = g.input('x', 'float32', [5, 3]);
  const h = o.tanh(o.matmul(x, w1));
  const loss = o.sum(o.matmul(h, w2)); // ∂/∂w2 = hᵀ·1 reads h, not w2
  return { loss, params: [w1, w2], data: [x], optimizer, report: { weightNorm: o.add(o.sum(o.square(w1)), o.sum(o.square(w2))) } };
}

for (const [label, opt] of OPTIMIZERS) {
  test(`every reader of a parameter precedes its in-place write (${label})`, () => {
    assert.deepEqual(unorderedReaders(mlpSpec(opt)), []);
  });
}

test('in-place steps equal the caller-visible trajectory: the initial array stays untouched and reset restores it', async () => {
  const spec = mlpSpec({ kind: 'adamw', weightDecay: 0.01, maxGradNorm: 0.5 });
  const w1 = { dtype: 'float32' as const, shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)) };
  const w2 = { dtype: 'float32' as const, shape: [4, 2], data: Float32Array.from({ length: 8 }, (_, i) => Math.cos(i)) };
  const step = TrainStep.create(spec, new Map([['w1', w1], ['w2', w2]]));
  const x = { dtype: 'float32' as const, shape: [5, 3], data: Float32Array.from({ length: 15 }, (_, i) => (i % 7) / 7 - 0.4) };
  const w1Before = [...w1.data];
  const first = await step.run({ x }, 0.1);
  const afterOne = [...(step.get('w2').data as Float32Array)];
  assert.notDeepEqual(afterOne, [...w2.data]);
  assert.deepEqual([...w1.data], w1Before, 'the caller\'s initial array is not written');
  // The loss check reads the current weights without changing them.
  const check = await step.evaluate({ x });
  assert.deepEqual([...(step.get('w2').data as Float32Array)], afterOne);
  assert.notEqual(check.loss, first.loss);
  step.reset();
  const again = await step.run({ x }, 0.1);
  assert.equal(again.loss, first.loss);
  assert.deepEqual([...(step.get('w2').data as Float32Array)], afterOne);
  await step.dispose();
});

test('a buffer handed over is trained in place; 16-bit initial values are widened, and reset widens them again', async () => {
  const spec = mlpSpec({ kind: 'sgd', momentum: 0, weightDecay: 0 });
  // BF16 bits of 1, −2, 0.5, … : the float32's upper halves.
  const values = Float32Array.from({ length: 12 }, (_, i) => [1, -2, 0.5, 0.25][i % 4]);
  const bits = new Uint16Array(new Uint32Array(values.buffer).map((b) => b >>> 16));
  const w2 = { dtype: 'float32' as const, shape: [4, 2], data: Float32Array.from({ length: 8 }, (_, i) => i / 8) };
  const w2Buffer = { ...w2, data: Float32Array.from(w2.data) };
  const initial = new Map<string, HostTensor>([['w1', { dtype: 'bfloat16', shape: [3, 4], data: bits }], ['w2', w2]]);
  const step = TrainStep.create(spec, initial, undefined, new Map([['w2', w2Buffer]]));
  assert.deepEqual([...(step.get('w1').data as Float32Array)], [...values]);
  assert.equal(step.get('w2'), w2Buffer);
  const x = { dtype: 'float32' as const, shape: [5, 3], data: Float32Array.from({ length: 15 }, (_, i) => i / 15) };
  await step.run({ x }, 0.5);
  assert.notDeepEqual([...w2Buffer.data], [...w2.data], 'the handed-over buffer holds the trained weights');
  step.reset();
  assert.deepEqual([...(step.get('w1').data as Float32Array)], [...values]);
  assert.deepEqual([...w2Buffer.data], [...w2.data]);
  assert.throws(() => TrainStep.create(spec, initial, undefined, new Map([['w2', w2]])), /is the initial value itself/);
  await step.dispose();
});
