// Every headline metric carries n and a bootstrap interval over items: forget quality resamples
// both models' truth ratios, model utility resamples each set's items across its three numbers,
// AUCs and PrivLeak resample forget and holdout items.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/engine/random.ts';
import { miaAuc, privLeak } from '../../../src/eval/metrics/mia.ts';
import { formatMetric, type MetricResult } from '../../../src/eval/metrics/metric-result.ts';
import { forgetQuality, modelUtility, probability, truthRatio, type UtilitySet } from '../../../src/eval/metrics/tofu.ts';
import { isInterval, type Interval } from '../../../src/eval/stats/bootstrap.ts';
import { ksPValue, ksStatistic, ksTwoSample } from '../../../src/eval/stats/ks-test.ts';

function intervalOf(m: MetricResult): Interval {
  assert.ok(isInterval(m.interval), JSON.stringify(m.interval));
  return m.interval;
}
function contains(m: MetricResult): void {
  const i = intervalOf(m);
  assert.ok(i.lower <= m.value! && m.value! <= i.upper, `${i.lower} ≤ ${m.value} ≤ ${i.upper}`);
}

const n = 40;
const rng = new Rng(21);
// Truth ratios of a model, of a reference from the same distribution (the quantiles in between
// the model's), and of a reference moved by e² (a model that still knows the forget set).
const model = Array.from({ length: n }, (_, i) => Math.exp(((i + 0.25) / n) * 4 - 2));
const sameDistribution = Array.from({ length: n }, (_, i) => Math.exp(((i + 0.75) / n) * 4 - 2));
const shifted = model.map((r) => r * Math.exp(2));

test('forget quality on two samples of one distribution: p near 1, and an interval far above 0.05', () => {
  const fq = forgetQuality(model, sameDistribution);
  assert.equal(fq.n, n);
  assert.deepEqual(fq.groups?.reference, sameDistribution);
  assert.ok(fq.value! > 0.99, `${fq.value}`);
  contains(fq);
  const i = intervalOf(fq);
  assert.ok(i.lower > 0.5, `${i.lower}`);
  assert.match(i.note!, /paired resampling/);
  // Drawn independently the two samples lose their interleaving: wider, still above 0.05.
  const independent = forgetQuality(model, sameDistribution, { pairing: 'independent' });
  contains(independent);
  assert.ok(intervalOf(independent).lower < i.lower && intervalOf(independent).lower > 0.05);
});

test('forget quality against a shifted reference: a small p-value whose whole interval is below 0.05', () => {
  const fq = forgetQuality(model, shifted);
  assert.ok(fq.value! < 0.01, `${fq.value}`);
  contains(fq);
  assert.ok(intervalOf(fq).upper < 0.05, `${intervalOf(fq).upper}`);
  assert.ok(intervalOf(forgetQuality(model, shifted, { pairing: 'independent' })).upper < 0.05);
});

test('forget quality against itself: p = 1 and, paired, nothing to resample away from it', () => {
  const fq = forgetQuality(model, model);
  assert.equal(fq.value, 1);
  assert.deepEqual([intervalOf(fq).lower, intervalOf(fq).upper], [1, 1]);
  // Drawn independently, the same items make two different samples: a wider interval, still containing 1.
  const independent = forgetQuality(model, model, { pairing: 'independent' });
  contains(independent);
  assert.ok(intervalOf(independent).lower < 1);
});

test('forget quality interval: the percentile interval of D less its resampling bias, read as p-values', () => {
  // Resampling duplicates items, which only widens the KS distance: the plain percentile interval
  // of resampled p-values lies below the p-value itself here; the default moves the distances
  // back by mean(D*) − D first. Same seed, same draws: the note gives the moved distances.
  const moved = model.map((r) => r * Math.exp(1.5));
  const fq = forgetQuality(model, moved, { bootstrap: { seed: 3 } });
  const plain = intervalOf(forgetQuality(model, moved, { bootstrap: { method: 'percentile', seed: 3 } }));
  assert.equal(plain.method, 'percentile bootstrap');
  assert.ok(plain.upper < fq.value!, `${plain.upper} < ${fq.value}`);
  const shiftedInterval = intervalOf(fq);
  contains(fq);
  assert.equal(shiftedInterval.method, 'bias-shifted percentile bootstrap');
  const d = ksTwoSample(model, moved).statistic;
  const [, dLow, dHigh] = /\[([^,]+), ([^\]]+)\]/.exec(shiftedInterval.note!)!.map(Number);
  assert.ok(dLow <= d && d <= dHigh, `${dLow} ≤ ${d} ≤ ${dHigh}`);
  // The ends are the p-values of the nearest distances on the 1/40 lattice.
  assert.equal(shiftedInterval.lower, ksPValue(Math.round(dHigh * n) / n, n, n).pValue);
  assert.equal(shiftedInterval.upper, ksPValue(Math.round(dLow * n) / n, n, n).pValue);
});

test('ksPValue of the observed distance is the test\'s p-value; ksStatistic is its distance', () => {
  for (const [x, y] of [[model, sameDistribution], [model, shifted], [model, sameDistribution.slice(0, 25)]]) {
    const ks = ksTwoSample(x, y);
    assert.equal(ksPValue(ks.statistic, x.length, y.length).pValue, ks.pValue);
    assert.equal(ksStatistic(x, y), ks.statistic);
  }
  assert.equal(ksPValue(0, 5, 7).pValue, 1);
});

test('deterministic for a seed', () => {
  assert.deepEqual(forgetQuality(model, shifted, { bootstrap: { seed: 9 } }), forgetQuality(model, shifted, { bootstrap: { seed: 9 } }));
  assert.equal(forgetQuality(model, shifted, { bootstrap: false }).interval, undefined);
});

// Two utility sets whose items are all 1 and one (retain) with two items that are each good at
// one number only: item A has Prob 1 and ROUGE 0.01, item B Prob 0.01 and ROUGE 1.
function utility(): { inputs: Record<'retain' | 'realAuthors' | 'worldFacts', UtilitySet>; nine: number[] } {
  const ones = { prob: 1, rougeRecall: 1, truthRatio: 1, items: { prob: [1, 1, 1], rougeRecall: [1, 1, 1], truthRatio: [1, 1, 1] } };
  const retain = { prob: 0.505, rougeRecall: 0.505, truthRatio: 1, items: { prob: [1, 0.01], rougeRecall: [0.01, 1], truthRatio: [1, 1] } };
  return { inputs: { retain, realAuthors: ones, worldFacts: ones }, nine: [0.505, 0.505, 1, 1, 1, 1, 1, 1, 1] };
}

test('model utility: n is the items of the three sets; the interval resamples each set\'s items whole', () => {
  const { inputs } = utility();
  const mu = modelUtility(inputs, { bootstrap: { resamples: 4000 } });
  // 9 / (7 + 2/0.505)
  assert.ok(Math.abs(mu.value! - 9 / (7 + 2 / 0.505)) < 1e-12);
  assert.equal(mu.n, 2 + 3 + 3);
  contains(mu);
  const i = intervalOf(mu);
  // Drawing items whole, a resample is {A, A}, {B, B} or {A, B}: Prob and ROUGE means are
  // (1, 0.01), (0.01, 1) or (0.505, 0.505), so utility is 9/(7 + 1 + 100) = 0.0841 or the
  // estimate itself, never more. Drawing Prob and ROUGE separately could give (1, 1): utility 1.
  assert.ok(Math.abs(i.lower - 9 / 108) < 1e-12, `${i.lower}`);
  assert.ok(Math.abs(i.upper - mu.value!) < 1e-12, `${i.upper}`);
});

test('model utility without per-item values has no interval, and says which set lacks them', () => {
  const { inputs } = utility();
  const { items: _dropped, ...bare } = inputs.worldFacts;
  const mu = modelUtility({ ...inputs, worldFacts: bare });
  assert.equal(typeof mu.value, 'number');
  assert.match((mu.interval as { unavailable: string }).unavailable, /worldFacts/);
});

test('Prob and truth ratio: n and an interval of the aggregate (the scored values, not R)', () => {
  const prob = probability([0, Math.log(2), Math.log(4), Math.log(8)]);
  assert.equal(prob.n, 4);
  contains(prob);
  const tr = truthRatio([0, 0, 0], [[Math.log(2)], [0], [-Math.log(2)]], 'forget');
  // R = 0.5, 1, 2 → min(R, 1/R) = 0.5, 1, 0.5: every resample's mean lies in [0.5, 1].
  const i = intervalOf(tr);
  assert.ok(i.lower >= 0.5 && i.upper <= 1);
  assert.deepEqual(tr.perItem, [0.5, 1, 2]);
});

test('AUC: n forget items, both samples kept, interval from resampling forget and holdout', () => {
  const forget = Array.from({ length: 30 }, () => rng.normal() - 1);
  const holdout = Array.from({ length: 20 }, () => rng.normal());
  const auc = miaAuc(forget, holdout);
  assert.equal(auc.n, 30);
  assert.deepEqual(auc.groups, { forget, holdout });
  contains(auc);
  assert.ok(intervalOf(auc).lower > 0.5);
});

test('PrivLeak: interval from both models\' scores on the same items; with the retain AUC alone, it is held fixed and said so', () => {
  const forget = Array.from({ length: 30 }, () => rng.normal() - 1);
  const holdout = Array.from({ length: 30 }, () => rng.normal());
  const retainForget = Array.from({ length: 30 }, () => rng.normal());
  const retainHoldout = Array.from({ length: 30 }, () => rng.normal());
  const u = miaAuc(forget, holdout);
  const r = miaAuc(retainForget, retainHoldout);
  const both = privLeak(u, r);
  assert.ok(Math.abs(both.value! - privLeak(u.value!, r.value!).value!) < 1e-12);
  assert.equal(both.n, 30);
  contains(both);
  assert.match(intervalOf(both).note!, /both models/);
  const fixed = privLeak(u, r.value!);
  contains(fixed);
  assert.match(intervalOf(fixed).note!, /held fixed/);
  // Holding the retain AUC fixed leaves out its noise: a narrower interval.
  assert.ok(intervalOf(fixed).upper - intervalOf(fixed).lower < intervalOf(both).upper - intervalOf(both).lower);
  assert.match((privLeak(u.value!, r.value!).interval as { unavailable: string }).unavailable, /per-item/);
  assert.equal(privLeak(u, null).value, null);
});

test('formatMetric prints the value, its interval and n', () => {
  assert.equal(formatMetric(probability([0, Math.log(2)], { bootstrap: false })), '0.75 (n = 2)');
  // Items 1, 0.5, 0.25: a resample of three 0.25s or three 1s is possible, so the ends are 0.25 and 1.
  assert.equal(formatMetric(probability([0, Math.log(2), Math.log(4)], { bootstrap: { resamples: 4000 } })), '0.583 [0.25, 1] (n = 3)');
  assert.equal(formatMetric(forgetQuality(model, null)), `unavailable (${forgetQuality(model, null).unavailable})`);
});
