// The host-side token sampler of generation: greedy ties, the heap of the largest values, and the
// draw frequencies under temperature, top-k and top-p (HF's warpers), from a fixed seed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.ts';
import { argmax, largest, TokenSampler, type SamplingOptions } from '../../src/models/decode-sampler.ts';

/** Draw frequencies of each token over n draws. */
function frequencies(logits: number[], options: SamplingOptions, n = 20000): number[] {
  const sampler = new TokenSampler(logits.length, options);
  const rng = new Rng(5);
  const row = Float32Array.from(logits);
  const counts = logits.map(() => 0);
  for (let i = 0; i < n; i++) counts[sampler.pick(row, rng)]++;
  return counts.map((c) => c / n);
}

const near = (got: number, want: number, tol = 0.015) => assert.ok(Math.abs(got - want) <= tol, `${got} vs ${want}`);

test('argmax takes the first of equal maxima; largest lists the m largest, largest first, lower index first on ties', () => {
  assert.equal(argmax(Float32Array.of(1, 5, 2, 5)), 1);
  const rng = new Rng(3);
  for (let trial = 0; trial < 50; trial++) {
    const n = 1 + rng.int(60);
    const values = Float32Array.from({ length: n }, () => rng.int(8)); // many ties
    const m = 1 + rng.int(n);
    const sorted = [...values.keys()].sort((a, b) => values[b] - values[a] || a - b);
    assert.deepEqual([...largest(values, m)], sorted.slice(0, m));
  }
});

test('temperature: softmax(logits / t) frequencies; top-k 1 and temperature 0 are greedy', () => {
  const f = frequencies([0, 1], { temperature: 0.5, topK: null, topP: 1 });
  near(f[1], Math.exp(2) / (1 + Math.exp(2)));
  assert.deepEqual(frequencies([0, 3, 2, 3], { temperature: 0, topK: null, topP: 1 }, 10), [0, 1, 0, 0]);
  assert.deepEqual(frequencies([0, 3, 2, 1], { temperature: 2, topK: 1, topP: 1 }, 10), [0, 1, 0, 0]);
});

test('top-k keeps the k largest logits (and ties with the k-th), renormalised', () => {
  const f = frequencies([0, 3, 2, 1], { temperature: 1, topK: 2, topP: 1 });
  assert.equal(f[0] + f[3], 0);
  near(f[1], Math.exp(3) / (Math.exp(3) + Math.exp(2)));
  const ties = frequencies([0, 3, 2, 2], { temperature: 1, topK: 2, topP: 1 });
  assert.equal(ties[0], 0);
  near(ties[2], Math.exp(2) / (Math.exp(3) + 2 * Math.exp(2)));
});

test('top-p drops the least likely tokens holding at most 1 − p of the mass (HF TopPLogitsWarper)', () => {
  const logits = [0.05, 0.5, 0.15, 0.3].map(Math.log);
  // Ascending cumulative mass 0.05, 0.2, 0.5, 1: p = 0.75 drops the two ≤ 0.25, p = 0.85 the one ≤ 0.15.
  const a = frequencies(logits, { temperature: 1, topK: null, topP: 0.75 });
  assert.equal(a[0] + a[2], 0);
  near(a[1], 0.5 / 0.8);
  const b = frequencies(logits, { temperature: 1, topK: null, topP: 0.85 });
  assert.equal(b[0], 0);
  near(b[2], 0.15 / 0.95);
  // top-k first, then top-p on the renormalised survivors: {0.5, 0.3} → 0.625, 0.375; p = 0.6 keeps 0.5 alone.
  assert.deepEqual(frequencies(logits, { temperature: 1, topK: 2, topP: 0.6 }, 100), [0, 1, 0, 0]);
});

test('top-p past the first guess of the nucleus (a flat distribution over many tokens)', () => {
  const V = 1000;
  const f = frequencies(Array.from({ length: V }, (_, i) => (i < 600 ? 0 : -50)), { temperature: 1, topK: null, topP: 0.9 }, 3000);
  const used = f.filter((x) => x > 0).length;
  assert.ok(used > 500 && f.slice(600).every((x) => x === 0), `${used} tokens drawn`);
});
