// The percentile bootstrap over items: a case worked out by hand from the binomial distribution,
// numpy's linear quantile, determinism for a seed, intervals that contain the estimate and shrink
// as items are added, and groups resampled on their own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LetheError } from '../../../src/engine/errors.ts';
import { Rng } from '../../../src/engine/random.ts';
import { bootstrapInterval, isInterval, meanInterval, pick, quantileSorted, type Interval } from '../../../src/eval/stats/bootstrap.ts';

function interval(x: ReturnType<typeof meanInterval>): Interval {
  assert.ok(isInterval(x), JSON.stringify(x));
  return x;
}

test('quantiles interpolate linearly between order statistics, as numpy.percentile', () => {
  // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 97.5, 100]) = 1, 1.75, 2.5, 3.925, 4
  const s = [1, 2, 3, 4];
  assert.equal(quantileSorted(s, 0), 1);
  assert.equal(quantileSorted(s, 0.25), 1.75);
  assert.equal(quantileSorted(s, 0.5), 2.5);
  assert.ok(Math.abs(quantileSorted(s, 0.975) - 3.925) < 1e-12);
  assert.equal(quantileSorted(s, 1), 4);
  assert.equal(quantileSorted([7], 0.3), 7);
});

test('hand-computed case: the mean of nine 0s and one 1', () => {
  // A resample's mean is K/10 with K ~ Binomial(10, 0.1):
  //   P(K = 0) = 0.9^10 = 0.3487 > 0.025, so the 2.5% quantile is 0;
  //   P(K ≤ 2) = 0.3487 + 0.3874 + 0.1937 = 0.9298 < 0.975 ≤ P(K ≤ 3) = 0.9872, so the 97.5%
  //   quantile is 0.3.
  // With 20000 resamples both quantiles sit hundreds of standard errors inside those steps.
  const values = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const r = interval(meanInterval(values, { resamples: 20000, seed: 7 }));
  assert.equal(r.lower, 0);
  assert.equal(r.upper, 0.3);
  assert.equal(r.level, 0.95);
  assert.equal(r.resamples, 20000);
  assert.equal(r.method, 'percentile bootstrap');
  // The share of resamples with K = 0 is close to 0.9^10.
  let zeros = 0;
  bootstrapInterval([10], ([idx]) => {
    if (!Array.from(idx).includes(0)) zeros++;
    return 0;
  }, { resamples: 20000, seed: 7 });
  assert.ok(Math.abs(zeros / 20000 - 0.9 ** 10) < 0.01, `${zeros / 20000}`);
  // A 50% interval: the 25% quantile is 0 (P(K = 0) = 0.349), the 75% quantile 0.2
  // (P(K ≤ 1) = 0.736 < 0.75 ≤ P(K ≤ 2) = 0.930).
  const half = interval(meanInterval(values, { resamples: 20000, seed: 7, level: 0.5 }));
  assert.equal(half.lower, 0);
  assert.equal(half.upper, 0.2);
});

test('deterministic for a seed; another seed draws other items', () => {
  const rng = new Rng(3);
  const values = Array.from({ length: 50 }, () => rng.normal());
  assert.deepEqual(meanInterval(values, { seed: 11 }), meanInterval(values, { seed: 11 }));
  assert.notDeepEqual(meanInterval(values, { seed: 11 }), meanInterval(values, { seed: 12 }));
});

test('the interval contains the estimate and shrinks like 1/√n as items are added', () => {
  const rng = new Rng(5);
  const base = Array.from({ length: 25 }, () => rng.next());
  const widths: number[] = [];
  for (const copies of [1, 4, 16]) {
    const values = Array.from({ length: copies }, () => base).flat();
    const mean = values.reduce((a, v) => a + v, 0) / values.length;
    const r = interval(meanInterval(values, { resamples: 2000 }));
    assert.ok(r.lower < mean && mean < r.upper, `${r.lower} < ${mean} < ${r.upper}`);
    widths.push(r.upper - r.lower);
  }
  // Four times the items, half the width (within Monte Carlo error).
  for (let k = 1; k < widths.length; k++) {
    const ratio = widths[k] / widths[k - 1];
    assert.ok(ratio > 0.4 && ratio < 0.6, `width ratio ${ratio}`);
  }
});

test('groups are resampled on their own, each from its own items', () => {
  const a = [0, 0, 0, 0, 1];
  const b = [5, 6];
  const seen = new Set<number>();
  const r = bootstrapInterval([a.length, b.length], ([i, j]) => {
    assert.equal(i.length, 5);
    assert.equal(j.length, 2);
    for (const v of pick(b, j)) seen.add(v);
    return pick(a, i).reduce((s, v) => s + v, 0) / 5 + pick(b, j).reduce((s, v) => s + v, 0) / 2;
  }, { resamples: 500 });
  assert.ok(isInterval(r));
  assert.deepEqual([...seen].sort(), [5, 6]);
  // Bounds: a's mean in [0, 1], b's in [5, 6].
  assert.ok(r.lower >= 5 && r.upper <= 7);
});

test('fewer than two items, or a statistic that is mostly not a number, has no interval but a reason', () => {
  assert.match((meanInterval([0.3]) as { unavailable: string }).unavailable, /at least 2 items/);
  assert.match((bootstrapInterval([3, 1], () => 0) as { unavailable: string }).unavailable, /per group/);
  const nan = bootstrapInterval([4], () => NaN, { resamples: 10 });
  assert.match((nan as { unavailable: string }).unavailable, /not a finite number on 10 of 10/);
});

test('bad settings are refused with a LetheError', () => {
  assert.throws(() => meanInterval([1, 2], { resamples: 0 }), LetheError);
  assert.throws(() => meanInterval([1, 2], { level: 1 }), LetheError);
  assert.throws(() => meanInterval([1, 2], { seed: 0.5 }), LetheError);
});
