// TOFU metrics on literal per-item losses, values worked out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  forgetQuality, modelUtility, normalisedProbability, probability, rougeRecall, truthRatio,
  type UtilitySet,
} from '../../../src/eval/metrics/tofu.ts';
import { ksTwoSample } from '../../../src/eval/stats/ks-test.ts';
import { LetheError } from '../../../src/engine/errors.ts';

const { log } = Math;
function close(actual: number | null, expected: number, tol = 1e-12): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `${actual} vs ${expected}`);
}

test('probability: mean of exp(−ce)', () => {
  const r = probability([0, log(2)]);
  close(r.perItem[0], 1);
  close(r.perItem[1], 0.5);
  close(r.value, 0.75);
});

test('normalised probability: p(a) / (p(a) + Σ p(wrong))', () => {
  // item 0: 0.5 / (0.5 + 0.25 + 0.25) = 0.5;  item 1: 1 / (1 + 0.5) = 2/3
  const r = normalisedProbability([log(2), 0], [[log(4), log(4)], [log(2)]]);
  close(r.perItem[0], 0.5);
  close(r.perItem[1], 2 / 3);
  close(r.value, 7 / 12);
});

// p̄(â) = 0.5, 0.25, 0.125; perturbed mean ce = ln 4, ln 4 (from ln 2 and ln 8), ln 2
// → R = 0.25/0.5 = 0.5, 0.25/0.25 = 1, 0.5/0.125 = 4. (Averaging probabilities instead of ce
// would give R = 1.25 for the middle item.)
const paraphrasedCe = [log(2), log(4), log(8)];
const perturbedCe = [[log(4), log(4)], [log(2), log(8)], [log(2)]];

test('truth ratio per item uses the mean ce of the perturbed answers', () => {
  const r = truthRatio(paraphrasedCe, perturbedCe, 'forget');
  [0.5, 1, 4].forEach((R, i) => close(r.perItem[i], R));
});

test('truth ratio on the forget set: mean(min(R, 1/R))', () => {
  close(truthRatio(paraphrasedCe, perturbedCe, 'forget').value, (0.5 + 1 + 0.25) / 3);
});

test('truth ratio elsewhere: mean(max(0, 1 − R))', () => {
  close(truthRatio(paraphrasedCe, perturbedCe, 'retain').value, (0.5 + 0 + 0) / 3);
});

test('truth ratio refuses an item without perturbed answers or mismatched lengths', () => {
  assert.throws(() => truthRatio([1], [[]], 'forget'), LetheError);
  assert.throws(() => truthRatio([1, 2], [[1]], 'forget'), LetheError);
});

test('forget quality is the KS p-value, the same on R as on TOFU\'s 1/R', () => {
  const unlearned = [0.2, 0.5, 0.9, 1.4, 0.3, 0.05, 0.7];
  const retain = [0.6, 0.8, 1.1, 0.9, 1.3, 0.75];
  const fq = forgetQuality(unlearned, retain);
  assert.equal(fq.value, ksTwoSample(unlearned, retain).pValue);
  assert.deepEqual(fq.perItem, unlearned);
  const inverted = ksTwoSample(unlearned.map((r) => 1 / r), retain.map((r) => 1 / r)).pValue;
  close(fq.value, inverted, 1e-15);
});

test('forget quality without retain-model values is unavailable, never a number', () => {
  for (const retain of [null, undefined, []]) {
    const fq = forgetQuality([0.5, 1], retain);
    assert.equal(fq.value, null);
    assert.match(fq.unavailable ?? '', /retain model/);
    assert.deepEqual(fq.perItem, [0.5, 1]);
  }
});

const set = (prob: number | null, rougeRecall: number | null, truthRatio: number | null): UtilitySet =>
  ({ prob, rougeRecall, truthRatio });

test('model utility: harmonic mean of the nine numbers', () => {
  // 9 / (1/1 + 1/0.5 + 1/0.25 + 6·1) = 9/13
  const r = modelUtility({ retain: set(1, 0.5, 0.25), realAuthors: set(1, 1, 1), worldFacts: set(1, 1, 1) });
  close(r.value, 9 / 13);
  assert.deepEqual(r.perItem, [1, 0.5, 0.25, 1, 1, 1, 1, 1, 1]);
  close(modelUtility({ retain: set(0.5, 0.5, 0.5), realAuthors: set(0.5, 0.5, 0.5), worldFacts: set(0.5, 0.5, 0.5) }).value, 0.5);
});

test('model utility is 0 when any number is 0', () => {
  const r = modelUtility({ retain: set(0.9, 0.8, 0.7), realAuthors: set(0.6, 0, 0.5), worldFacts: set(0.4, 0.3, 0.2) });
  assert.equal(r.value, 0);
});

test('model utility is unavailable when a number is missing, naming it', () => {
  const r = modelUtility({ retain: set(0.9, 0.8, 0.7), realAuthors: set(0.6, 0.5, null), worldFacts: set(0.4, 0.3, 0.2) });
  assert.equal(r.value, null);
  assert.match(r.unavailable ?? '', /realAuthors\.truthRatio/);
  assert.throws(() => modelUtility({ retain: set(-1, 1, 1), realAuthors: set(1, 1, 1), worldFacts: set(1, 1, 1) }), LetheError);
});

test('ROUGE: mean ROUGE-L recall with stemming by default', () => {
  // item 0: answer "He was running and jumped" (5 tokens), generation stems to "run jump": recall 2/5
  // item 1: answer "Paris" vs "It is Paris.": recall 1
  const pairs = [
    { generation: 'she runs, jumping.', answer: 'He was running and jumped' },
    { generation: 'It is Paris.', answer: 'Paris' },
  ];
  const r = rougeRecall(pairs);
  close(r.perItem[0], 2 / 5);
  close(r.perItem[1], 1);
  close(r.value, 0.7);
  close(rougeRecall(pairs, { stem: false }).value, 0.5);
  assert.equal(rougeRecall([]).value, null);
});
