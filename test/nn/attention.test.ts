// Attention: the additive bias (causal, sliding window, padding), and grouped-query attention
// against a host implementation that repeats the key/value heads explicitly (HF's repeat_kv).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { Rng } from '../../src/engine/random.ts';
import { attentionBias, MASKED, selfAttention } from '../../src/nn/attention.ts';

test('bias: causal, a sliding window keeps q − w < k ≤ q, padded keys hidden', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['B', 'T', 2]);
  const m = g.input('m', 'float32', ['B', 'T']);
  const program = compile([x, m], { causal: attentionBias(x, 'T'), window: attentionBias(x, 'T', { slidingWindow: 2 }), padded: attentionBias(x, 'T', { attentionMask: m }) });
  const r = await program.run({ x: { dtype: 'float32', shape: [1, 4, 2], data: new Float32Array(8) }, m: { dtype: 'float32', shape: [1, 4], data: Float32Array.of(0, 1, 1, 1) } });
  await program.dispose();
  const hidden = (t: { data: ArrayLike<number | bigint> }) => Array.from(t.data, (v) => (Number(v) <= MASKED / 2 ? 1 : 0));
  assert.deepEqual(hidden(r.causal), [0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(hidden(r.window), [0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0]);
  assert.deepEqual(r.padded.shape, [1, 4, 4]);
  assert.deepEqual(hidden(r.padded), [1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0]);
});

test('grouped-query attention equals attention with key/value heads repeated (query head h uses ⌊h/R⌋)', async () => {
  const [B, T, H, G, D] = [2, 5, 6, 2, 4];
  const R = H / G;
  const rng = new Rng(9);
  const q = rng.normalArray(B * T * H * D);
  const k = rng.normalArray(B * T * G * D);
  const v = rng.normalArray(B * T * G * D);
  const g = new Graph();
  const qi = g.input('q', 'float32', ['B', 'T', H * D]);
  const ki = g.input('k', 'float32', ['B', 'T', G * D]);
  const vi = g.input('v', 'float32', ['B', 'T', G * D]);
  const { y } = selfAttention(qi, ki, vi, attentionBias(qi, 'T'), { numHeads: H, numKvHeads: G, headDim: D });
  const program = compile([qi, ki, vi], { y });
  const feed = (data: Float32Array, c: number) => ({ dtype: 'float32' as const, shape: [B, T, c], data });
  const got = (await program.run({ q: feed(q, H * D), k: feed(k, G * D), v: feed(v, G * D) })).y.data as Float32Array;
  await program.dispose();
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) {
    const kvh = Math.floor(h / R);
    const qv = (s: number, i: number) => q[(b * T + s) * H * D + h * D + i];
    const kv = (arr: Float32Array, s: number, i: number) => arr[(b * T + s) * G * D + kvh * D + i];
    const scores = Array.from({ length: t + 1 }, (_, s) => {
      let dot = 0;
      for (let i = 0; i < D; i++) dot += qv(t, i) * kv(k, s, i);
      return dot / Math.sqrt(D);
    });
    const mx = Math.max(...scores);
    const w = scores.map((s) => Math.exp(s - mx));
    const z = w.reduce((a, c) => a + c, 0);
    for (let i = 0; i < D; i++) {
      const want = w.reduce((acc, wi, s) => acc + (wi / z) * kv(v, s, i), 0);
      const have = got[(b * T + t) * H * D + h * D + i];
      assert.ok(Math.abs(have - want) < 1e-5, `b${b} h${h} t${t} i${i}: ${have} vs ${want}`);
    }
  }
});
