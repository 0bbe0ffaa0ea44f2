// Optimiser state kept in bfloat16 (OptimizerOptions.stateDtype): the stochastic rounding op
// against its definition, one AdamW step against the float32 rule applied to the stored state,
// and a long run where rounding to nearest visibly fails (Adam's second moment stalls) while the
// stochastic rounding tracks the float32 values.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { compile } from '../../src/engine/program.ts';
import { TrainStep } from '../../src/engine/train-step.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float32 value of bfloat16 bits. */
const widen = (h: number) => ((u32[0] = h << 16), f32[0]);
/** The bfloat16 neighbours of x: toward zero (truncated bits) and the next one away from zero. */
function neighbours(x: number): [number, number] {
  f32[0] = x;
  const lo = u32[0] >>> 16;
  return [lo, lo + 1];
}

test('roundBf16 returns one of the two bfloat16 neighbours, keeps exact values, and is unbiased', async () => {
  const values = [1 + 0.3 / 256, -1 - 0.7 / 128, 3.14159, -2.5e-7, 1e-30, 65504.3, 1 - 2 ** -12, 2 ** -130, 1.5, -0, 0, Infinity, -Infinity];
  const n = values.length * 512;
  const g = new Graph();
  const x = g.input('x', 'float32', [n]);
  const noise = g.input('noise', 'int64', []);
  const p = compile([x, noise], { r: o.roundBf16(x, noise) });
  const data = Float32Array.from({ length: n }, (_, i) => values[i % values.length]);
  const runs = 64;
  const sum = new Float64Array(values.length);
  for (let k = 0; k < runs; k++) {
    const out = await p.run({ x: { dtype: 'float32', shape: [n], data }, noise: { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(k * 7919 + 13)) } });
    assert.equal(out.r.dtype, 'bfloat16');
    const r = out.r.data as Uint16Array;
    for (let i = 0; i < n; i++) {
      const [lo, hi] = neighbours(data[i]);
      assert.ok(r[i] === lo || r[i] === hi, `x = ${data[i]}: bits ${r[i].toString(16)} are neither neighbour`);
      if (widen(lo) === data[i]) assert.equal(r[i], lo, `x = ${data[i]} is a bfloat16 value and must stay`);
      sum[i % values.length] += widen(r[i]);
    }
  }
  values.forEach((v, j) => {
    if (!Number.isFinite(v)) return assert.equal(sum[j], v, `x = ${v} must stay ${v}`);
    const [lo, hi] = neighbours(v).map(widen);
    const mean = sum[j] / (runs * 512);
    // Each draw is lo or hi; the mean of N draws is within a few standard errors of v.
    const se = Math.abs(hi - lo) / 2 / Math.sqrt(runs * 512);
    assert.ok(Math.abs(mean - v) <= 5 * se + 1e-45, `x = ${v}: mean of the roundings ${mean}, expected ${v} ± ${5 * se}`);
  });
  await p.dispose();
});

test('AdamW with bfloat16 state: each step is the float32 rule on the stored state, rounded to a neighbour', async () => {
  const [b1, b2, eps, lr] = [0.9, 0.999, 1e-8, 0.01];
  const n = 64;
  const g = new Graph();
  const w = g.input('w', 'float32', [n]);
  const tgt = g.input('target', 'float32', [n]);
  const loss = o.sum(o.square(o.sub(w, tgt)));
  const w0 = Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  const target = Float32Array.from({ length: n }, (_, i) => Math.cos(3 * i));
  const ts = TrainStep.create({ loss, params: [w], data: [tgt], optimizer: { kind: 'adamw', betas: [b1, b2], eps, weightDecay: 0, maxGradNorm: null, stateDtype: 'bfloat16' } }, new Map([['w', { dtype: 'float32' as const, shape: [n], data: w0 }]]));
  assert.equal(ts.get('w.adam_m').dtype, 'bfloat16');
  const feeds = { target: { dtype: 'float32' as const, shape: [n], data: target } };
  for (let t = 1; t <= 6; t++) {
    const wPrev = Float32Array.from(ts.get('w').data as Float32Array);
    const mPrev = Array.from(ts.get('w.adam_m').data as Uint16Array, widen);
    const vPrev = Array.from(ts.get('w.adam_v').data as Uint16Array, widen);
    await ts.run(feeds, lr);
    const mNow = ts.get('w.adam_m').data as Uint16Array;
    const vNow = ts.get('w.adam_v').data as Uint16Array;
    const wNow = ts.get('w').data as Float32Array;
    for (let i = 0; i < n; i++) {
      const gr = 2 * (wPrev[i] - target[i]);
      const m = b1 * mPrev[i] + (1 - b1) * gr;
      const v = b2 * vPrev[i] + (1 - b2) * gr * gr;
      for (const [name, exact, stored] of [['m', m, mNow[i]], ['v', v, vNow[i]]] as const) {
        const [lo, hi] = neighbours(exact);
        // float32 arithmetic in the graph vs float64 here: allow the neighbours of the next ulp too.
        assert.ok(Math.abs(stored - lo) <= 1 || Math.abs(stored - hi) <= 1, `step ${t}, ${name}[${i}]: ${widen(stored)} is not a rounding of ${exact}`);
      }
      // The parameter update uses the unrounded float32 moments.
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      const expected = wPrev[i] - (lr / bc1) * (m / (Math.sqrt(v) / Math.sqrt(bc2) + eps));
      assert.ok(Math.abs(wNow[i] - expected) <= 1e-5 * (1 + Math.abs(expected)), `step ${t}, w[${i}]: ${wNow[i]} vs ${expected}`);
    }
  }
  await ts.dispose();
});

test("Adam's second moment in bfloat16 follows float32 over 1500 steps; rounded to nearest it would stall", async () => {
  // A constant gradient a (loss Σ a·w) and lr 0: v_t = (1 − β2ᵗ)·a² exactly, for every element.
  const n = 4096;
  const steps = 1500;
  const b2 = 0.999;
  const g = new Graph();
  const w = g.input('w', 'float32', [n]);
  const a = g.input('a', 'float32', [n]);
  const loss = o.sum(o.mul(a, w));
  const grads = Float32Array.from({ length: n }, (_, i) => 0.5 + (i % 97) / 97);
  const ts = TrainStep.create({ loss, params: [w], data: [a], optimizer: { kind: 'adamw', weightDecay: 0, maxGradNorm: null, stateDtype: 'bfloat16' } }, new Map([['w', { dtype: 'float32' as const, shape: [n], data: new Float32Array(n) }]]));
  const feeds = { a: { dtype: 'float32' as const, shape: [n], data: grads } };
  for (let t = 0; t < steps; t++) await ts.run(feeds, 0);
  const exact = 1 - b2 ** steps;
  const v = ts.get('w.adam_v').data as Uint16Array;
  let ratio = 0;
  for (let i = 0; i < n; i++) ratio += widen(v[i]) / (exact * grads[i] * grads[i]) / n;
  assert.ok(Math.abs(ratio - 1) < 0.01, `mean of v / its float32 value: ${ratio}`);
  // The same recursion rounded to nearest (in JavaScript): the increments fall below half an ulp.
  const nearest = (x: number) => {
    f32[0] = x;
    const r = u32[0] + 0x7fff + ((u32[0] >>> 16) & 1);
    return widen(r >>> 16);
  };
  let vn = 0;
  for (let t = 0; t < steps; t++) vn = nearest(b2 * vn + (1 - b2));
  assert.ok(vn / exact < 0.7, `rounded to nearest, v reaches ${vn / exact} of its value: this test could not tell the two apart`);
  await ts.dispose();
});
