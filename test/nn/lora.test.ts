// LoRA math: the host merge against a direct sum, A's initial range, and the update in a graph.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { compile } from '../../src/engine/program.ts';
import { Rng } from '../../src/engine/random.ts';
import { initLoraA, loraDelta, mergeLoraWeight } from '../../src/nn/lora.ts';

const tensor = (data: Float32Array, shape: number[]) => ({ dtype: 'float32' as const, shape, data });

test('merge: W + s·A·B element by element; x·W′ equals x·W + loraDelta(x)', async () => {
  const [n, r, m, s] = [5, 2, 3, 0.75];
  const rng = new Rng(2);
  const W = tensor(rng.normalArray(n * m), [n, m]);
  const A = tensor(rng.normalArray(n * r), [n, r]);
  const B = tensor(rng.normalArray(r * m), [r, m]);
  const merged = mergeLoraWeight(W, A, B, s).data as Float32Array;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    let ab = 0;
    for (let k = 0; k < r; k++) ab += A.data[i * r + k] * B.data[k * m + j];
    assert.ok(Math.abs(merged[i * m + j] - (W.data[i * m + j] + s * ab)) < 1e-6);
  }
  const g = new Graph();
  const x = g.input('x', 'float32', [4, n]);
  const [w, a, b, wm] = (['w', 'a', 'b', 'wm'] as const).map((name, i) => g.input(name, 'float32', [[n, m], [n, r], [r, m], [n, m]][i]));
  const program = compile([x, w, a, b, wm], { adapted: o.add(o.matmul(x, w), loraDelta(x, a, b, s)), merged: o.matmul(x, wm) });
  const out = await program.run({ x: tensor(rng.normalArray(4 * n), [4, n]), w: W, a: A, b: B, wm: tensor(merged, [n, m]) });
  await program.dispose();
  const d = (out.adapted.data as Float32Array).reduce((mx, v, i) => Math.max(mx, Math.abs(v - (out.merged.data[i] as number))), 0);
  assert.ok(d < 1e-5, `${d}`);
});

test('A starts uniform in ±1/√in (PEFT\'s kaiming_uniform with a = √5)', () => {
  const a = initLoraA(400, 8, new Rng(1)).data as Float32Array;
  const bound = 1 / Math.sqrt(400);
  assert.ok(a.every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...a) > 0.95 * bound && Math.min(...a) < -0.95 * bound);
});
