// A metric over seeds: mean ± sample sd, passes in k of N, unavailable runs counted but never
// passing; values worked out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSeedSummary, passesInKOfN, summariseSeeds } from '../../../src/eval/stats/seeds.ts';

test('mean ± sample sd over the available seeds; an unavailable seed counts in N but never passes', () => {
  // 0.2 and 0.3: mean 0.25, sd = √((0.05² + 0.05²)/1) = 0.0707…
  const s = summariseSeeds([0.2, null, 0.3], (fq) => fq >= 0.25);
  assert.equal(s.runs, 3);
  assert.equal(s.available, 2);
  assert.ok(Math.abs(s.mean! - 0.25) < 1e-15);
  assert.ok(Math.abs(s.sd! - Math.sqrt(0.005)) < 1e-15);
  assert.equal(s.min, 0.2);
  assert.equal(s.max, 0.3);
  assert.equal(s.passes, 1);
  assert.equal(formatSeedSummary(s), '0.25 ± 0.0707 (2 seeds, unavailable in 1), passes in 1 of 3');
});

test('one seed has no sd; no available seed has no mean; NaN is unavailable', () => {
  const one = summariseSeeds([0.029]);
  assert.equal(one.sd, null);
  assert.equal(one.passes, undefined);
  assert.equal(formatSeedSummary(one), '0.029 (1 seed)');
  const none = summariseSeeds([null, NaN]);
  assert.equal(none.mean, null);
  assert.equal(none.available, 0);
  assert.equal(formatSeedSummary(none), 'unavailable in all 2 runs');
  // Tiny values (forget quality) are written in exponent form.
  assert.equal(formatSeedSummary(summariseSeeds([4e-25, 6e-25])), '5.00e-25 ± 1.41e-25 (2 seeds)');
});

test('passes in k of N for a verdict combining several metrics', () => {
  assert.deepEqual(passesInKOfN([true, false, true]), { passes: 2, runs: 3, all: false });
  assert.deepEqual(passesInKOfN([true, null, true]), { passes: 2, runs: 3, all: false });
  assert.deepEqual(passesInKOfN([true, true]), { passes: 2, runs: 2, all: true });
  assert.deepEqual(passesInKOfN([]), { passes: 0, runs: 0, all: false });
});
