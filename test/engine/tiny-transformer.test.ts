// A tiny causal transformer written directly with engine ops (embeddings, causal softmax
// attention, MLP, log-softmax cross-entropy) learns a copy task: a random sequence of 8 tokens
// followed by the same 8 again. The second half is predictable only by attending back 8
// positions, so the loss there can fall far below chance (ln V) only if attention works.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { Graph, type Tensor } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { TrainStep } from '../../src/engine/train-step.ts';
import { Rng } from '../../src/engine/random.ts';

const V = 12; // vocabulary
const HALF = 8;
const T = 2 * HALF;
const C = 32; // width
const H = 4; // heads
const LAYERS = 2;
const BATCH = 32;

function model(g: Graph, seed: number): { loss: Tensor; params: Tensor[]; values: Map<string, HostTensor>; data: Tensor[] } {
  const rng = new Rng(seed);
  const values = new Map<string, HostTensor>();
  const params: Tensor[] = [];
  const param = (name: string, shape: number[], std: number | 'ones' | 'zeros') => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = std === 'ones' ? new Float32Array(n).fill(1) : std === 'zeros' ? new Float32Array(n) : rng.normalArray(n, std);
    values.set(name, { dtype: 'float32', shape, data });
    const t = g.input(name, 'float32', shape);
    params.push(t);
    return t;
  };
  const ids = g.input('ids', 'int64', ['B', T]);
  const labels = g.input('labels', 'int64', ['B', T]);
  const mask = g.input('mask', 'float32', ['B', T]); // 1 where the label counts

  const norm = (x: Tensor, name: string) => {
    const d = o.sub(x, o.mean(x, -1, true));
    const y = o.mul(d, o.rsqrt(o.add(o.mean(o.square(d), -1, true), 1e-5)));
    return o.add(o.mul(y, param(`${name}.w`, [C], 'ones')), param(`${name}.b`, [C], 'zeros'));
  };
  const pos = o.range(g, T);
  let x = o.add(o.gather(param('wte', [V, C], 0.1), ids), o.gather(param('wpe', [T, C], 0.1), pos)); // [B, T, C]
  const future = o.greater(o.unsqueeze(pos, 0), o.unsqueeze(pos, 1)); // [T, T] key after query
  for (let l = 0; l < LAYERS; l++) {
    const h = norm(x, `l${l}.ln1`);
    const heads = (w: Tensor) => o.transpose(o.reshape(o.matmul(h, w), ['B', T, H, C / H]), [0, 2, 1, 3]); // [B, H, T, D]
    const q = heads(param(`l${l}.wq`, [C, C], 0.1));
    const k = heads(param(`l${l}.wk`, [C, C], 0.1));
    const v = heads(param(`l${l}.wv`, [C, C], 0.1));
    const scores = o.where(future, -1e9, o.mul(o.matmul(q, k, { transB: true }), 1 / Math.sqrt(C / H))); // [B, H, T, T]
    const att = o.reshape(o.transpose(o.matmul(o.softmax(scores, -1), v), [0, 2, 1, 3]), ['B', T, C]);
    x = o.add(x, o.matmul(att, param(`l${l}.wo`, [C, C], 0.1)));
    const m = norm(x, `l${l}.ln2`);
    x = o.add(x, o.matmul(o.relu(o.matmul(m, param(`l${l}.w1`, [C, 4 * C], 0.1))), param(`l${l}.w2`, [4 * C, C], 0.1)));
  }
  const logits = o.matmul(norm(x, 'lnf'), param('head', [C, V], 0.1)); // [B, T, V]
  const logp = o.gatherElements(o.logSoftmax(logits, -1), o.unsqueeze(labels, -1), 2); // [B, T, 1]
  const loss = o.div(o.neg(o.sum(o.mul(o.squeeze(logp, -1), mask))), o.sum(mask));
  return { loss, params, values, data: [ids, labels, mask] };
}

function batch(rng: Rng): Record<string, HostTensor> {
  const ids = new BigInt64Array(BATCH * T);
  const labels = new BigInt64Array(BATCH * T);
  const mask = new Float32Array(BATCH * T);
  for (let b = 0; b < BATCH; b++) {
    const seq = Array.from({ length: HALF }, () => rng.int(V));
    for (let t = 0; t < T; t++) {
      ids[b * T + t] = BigInt(seq[t % HALF]);
      // Position t predicts token t+1; only predictions of the repeated half are scored.
      if (t + 1 < T) labels[b * T + t] = BigInt(seq[(t + 1) % HALF]);
      if (t >= HALF - 1 && t + 1 < T) mask[b * T + t] = 1;
    }
  }
  return {
    ids: { dtype: 'int64', shape: [BATCH, T], data: ids },
    labels: { dtype: 'int64', shape: [BATCH, T], data: labels },
    mask: { dtype: 'float32', shape: [BATCH, T], data: mask },
  };
}

async function train(steps: number, seed: number): Promise<number[]> {
  const g = new Graph();
  const m = model(g, seed);
  const step = TrainStep.create({ loss: m.loss, params: m.params, data: m.data, optimizer: { kind: 'adamw', weightDecay: 0, maxGradNorm: 1 } }, m.values);
  const rng = new Rng(seed + 1);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const lr = 3e-3 * Math.min(1, (i + 1) / 20); // short warm-up
    losses.push((await step.run(batch(rng), lr)).loss);
  }
  await step.dispose();
  return losses;
}

test('a tiny transformer built from engine ops learns to copy: loss falls far below chance', async () => {
  const losses = await train(400, 11);
  const chance = Math.log(V);
  const start = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const end = losses.slice(-10).reduce((a, b) => a + b) / 10;
  assert.ok(Math.abs(start - chance) < 0.5, `starts near chance: ${start.toFixed(3)} vs ln ${V} = ${chance.toFixed(3)}`);
  console.log(`copy task: loss ${start.toFixed(3)} → ${end.toFixed(3)} over 400 steps (chance ${chance.toFixed(3)})`);
  assert.ok(end < 0.2 * chance, `ends far below chance: ${end.toFixed(3)} (chance ${chance.toFixed(3)})`);
});

test('training is deterministic for a fixed seed', async () => {
  const a = await train(25, 5);
  const b = await train(25, 5);
  assert.deepEqual(a, b);
  const c = await train(25, 6);
  assert.notDeepEqual(a, c);
});
