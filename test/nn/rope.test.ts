// RoPE: host tables against the formula, and the rotation against Hugging Face's rotate_half
// written out on the host.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { Rng } from '../../src/engine/random.ts';
import { LetheError } from '../../src/engine/errors.ts';
import { applyRope, ropeAngles, ropeFrequencies, ropeTables } from '../../src/nn/rope.ts';

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

test('past 8192 positions the two-level tables (t mod K, ⌊t/K⌋·K) give the direct tables\' angles; scaled specs too', async () => {
  const D = 8;
  const positions = [0, 1, 8191, 12345, 19999, 131071];
  for (const spec of [{ theta: 500000, rotaryDim: D }, { theta: 500000, rotaryDim: D, scaling: { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 } }]) {
    const direct = ropeTables(131072, D, spec);
    const g = new Graph();
    const p = g.input('pos', 'int64', [positions.length]);
    const a = ropeAngles(g, p, 131072, D, spec);
    const program = compile([p], { cos: a.cos, sin: a.sin });
    const r = await program.run({ pos: { dtype: 'int64', shape: [positions.length], data: BigInt64Array.from(positions, BigInt) } });
    await program.dispose();
    positions.forEach((t, j) => {
      for (let i = 0; i < D; i++) {
        for (const k of ['cos', 'sin'] as const) {
          const want = direct[k].data[t * D + i] as number;
          const got = (r[k].data as Float32Array)[j * D + i];
          assert.ok(Math.abs(got - want) < 2e-6, `${k} t${t} i${i}: ${got} vs ${want}`);
        }
      }
    });
  }
});

test('scaled frequencies: linear divides, llama3 keeps high / divides low / blends the middle band, YaRN ramps, longrope divides by its factors', () => {
  const R = 8;
  const theta = 100;
  const base = [0, 1, 2, 3].map((i) => Math.pow(theta, (-2 * i) / R)); // 1, 0.316, 0.1, 0.0316
  const close = (a: ArrayLike<number>, b: number[]) => b.forEach((x, i) => assert.ok(Math.abs(a[i] - x) < 1e-12 * Math.max(1, Math.abs(x)), `${i}: ${a[i]} vs ${x}`));
  close(ropeFrequencies({ theta, rotaryDim: R, scaling: { type: 'linear', factor: 4 } }, 10).invFreq, base.map((f) => f / 4));
  const l3 = ropeFrequencies({ theta, rotaryDim: R, scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 32 } }, 10).invFreq;
  // wavelengths 6.3 (< 32/4: kept), 19.9 (between: blended), 62.8 and 199 (> 32: divided by 8)
  const smooth = (32 / ((2 * Math.PI) / base[1]) - 1) / 3;
  close(l3, [base[0], (1 - smooth) * base[1] / 8 + smooth * base[1], base[2] / 8, base[3] / 8]);
  const long = ropeFrequencies({ theta, rotaryDim: R, scaling: { type: 'longrope', shortFactor: [1, 1, 1, 1], longFactor: [1, 2, 3, 4], originalMaxPositions: 8, attentionFactor: 1.2 } }, 16);
  close(long.invFreq, base.map((f, i) => f / (i + 1)));
  assert.equal(long.attentionFactor, 1.2);
  close(ropeFrequencies({ theta, rotaryDim: R, scaling: { type: 'longrope', shortFactor: [1, 1, 1, 1], longFactor: [1, 2, 3, 4], originalMaxPositions: 8, attentionFactor: 1 } }, 8).invFreq, base);
  // dynamic: unchanged up to the original length, a larger base past it
  close(ropeFrequencies({ theta, rotaryDim: R, scaling: { type: 'dynamic', factor: 2, originalMaxPositions: 8 } }, 8).invFreq, base);
  const grown = theta * Math.pow((2 * 12) / 8 - 1, R / (R - 2));
  close(ropeFrequencies({ theta, rotaryDim: R, scaling: { type: 'dynamic', factor: 2, originalMaxPositions: 8 } }, 12).invFreq, [0, 1, 2, 3].map((i) => Math.pow(grown, (-2 * i) / R)));
});

test('absurd context lengths are a LetheError, not a RangeError', () => {
  assert.throws(() => ropeTables(1e12, 8, 10000), (e: unknown) => e instanceof LetheError && /1000000000000 positions is outside/.test(e.message));
  assert.throws(() => ropeTables(1.5, 8, 10000), LetheError);
});
