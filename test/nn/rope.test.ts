// RoPE: host tables against the formula, and the rotation against Hugging Face's rotate_half
// written out on the host.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { Rng } from '../../src/engine/random.ts';
import { applyRope, ropeAngles, ropeTables } from '../../src/nn/rope.ts';

test('tables: cos(t·θ^(−2i/D)) in both halves, sin negated in the first half', () => {
  const { cos, sin } = ropeTables(50, 8, 500);
  assert.deepEqual(cos.shape, [50, 8]);
  for (const [t, i] of [[0, 0], [7, 1], [49, 3]]) {
    const a = t * Math.pow(500, (-2 * i) / 8);
    assert.ok(Math.abs(cos.data[t * 8 + i] as number - Math.cos(a)) < 1e-7);
    assert.ok(Math.abs(cos.data[t * 8 + 4 + i] as number - Math.cos(a)) < 1e-7);
    assert.ok(Math.abs(sin.data[t * 8 + i] as number + Math.sin(a)) < 1e-7);
    assert.ok(Math.abs(sin.data[t * 8 + 4 + i] as number - Math.sin(a)) < 1e-7);
  }
});

test('applyRope equals q·cos + rotate_half(q)·sin at the given positions (per-row positions too)', async () => {
  const [B, T, G, D, theta] = [2, 3, 2, 6, 10000];
  const rng = new Rng(4);
  const x = rng.normalArray(B * T * G * D);
  const pos = [[0, 1, 2], [5, 9, 20]];
  const g = new Graph();
  const xin = g.input('x', 'float32', [B, T, G, D]);
  const p = g.input('pos', 'int64', [B, T]);
  const program = compile([xin, p], { y: applyRope(xin, ropeAngles(g, p, 32, D, theta), 1) });
  const y = (await program.run({ x: { dtype: 'float32', shape: [B, T, G, D], data: x }, pos: { dtype: 'int64', shape: [B, T], data: BigInt64Array.from(pos.flat(), BigInt) } })).y.data as Float32Array;
  await program.dispose();
  const half = D / 2;
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = 0; h < G; h++) {
    const at = ((b * T + t) * G + h) * D;
    for (let i = 0; i < D; i++) {
      const a = pos[b][t] * Math.pow(theta, (-2 * (i % half)) / D);
      const rot = i < half ? -x[at + i + half] : x[at + i - half];
      const want = x[at + i] * Math.cos(a) + rot * Math.sin(a);
      assert.ok(Math.abs(y[at + i] - want) < 1e-5, `b${b} t${t} h${h} i${i}: ${y[at + i]} vs ${want}`);
    }
  }
});
