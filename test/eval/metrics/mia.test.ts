// Membership-inference scores, AUC and PrivLeak on literal arrays, values worked out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  gradNormScore, lossScore, miaAuc, miaScores, minKPlusPlusScore, minKScore, privLeak,
  referenceScore, zlibScore, type MiaItem,
} from '../../../src/eval/metrics/mia.ts';
import { rocAuc } from '../../../src/eval/stats/roc-auc.ts';
import { LetheError } from '../../../src/engine/errors.ts';

function close(actual: number | null, expected: number, tol = 1e-12): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `${actual} vs ${expected}`);
}

// Exactly representable in float32.
const item: MiaItem = {
  tokenLogprobs: Float32Array.from([-1, -2, -3, -4, -0.5]),
  text: 'a',
  tokenMean: Float32Array.from([-1, -1, -1, -1, -1]),
  tokenVariance: Float32Array.from([1, 4, 1, 4, 0]),
  referenceNll: 1.5,
  gradientNorms: [1, 2, 3],
};

test('LOSS: mean token NLL', () => close(lossScore(item), (1 + 2 + 3 + 4 + 0.5) / 5));

test('Min-K% (k = 0.4): −mean of the ⌊0.4·5⌋ = 2 lowest log-probs', () => {
  close(minKScore(item), 3.5); // −mean(−4, −3)
  close(minKScore(item, 0.1), 4); // at least one token
  close(minKScore(item, 1), 2.1); // k = 1 is LOSS
});

test('Min-K%++: the same on (log p − μ)/σ, σ² floored at 1e-6', () => {
  // z = 0, −0.5, −2, −1.5, 0.5/√1e-6 = 500; lowest two: −2, −1.5
  close(minKPlusPlusScore(item), 1.75);
  close(minKPlusPlusScore(item, 1), -(0 - 0.5 - 2 - 1.5 + 500) / 5, 1e-9);
});

test('ZLib: mean NLL over the compressed length in bytes', () => {
  // zlib.compress(b'a') and deflateSync('a') are both 9 bytes; b'' gives 8
  close(zlibScore(item), 2.1 / 9);
  close(zlibScore({ ...item, text: '' }), 2.1 / 8);
});

test('Reference: NLL minus the reference model NLL', () => close(referenceScore(item), 0.6));

test('GradNorm: per-tensor norms averaged', () => close(gradNormScore(item), 2));

test('miaScores: per-item scores and their mean; missing inputs are unavailable, not guessed', () => {
  const other: MiaItem = { tokenLogprobs: Float32Array.from([-2, -2]) };
  const loss = miaScores([item, other], 'loss');
  assert.deepEqual(loss.perItem.map((v) => Math.round(v * 1e12) / 1e12), [2.1, 2]);
  close(loss.value, 2.05);
  const ref = miaScores([other, other], 'reference');
  assert.equal(ref.value, null);
  assert.match(ref.unavailable ?? '', /reference model/);
  assert.equal(miaScores([other], 'gradNorm').value, null);
  assert.throws(() => miaScores([item, other], 'reference'), LetheError); // some items have it, some not
  assert.throws(() => lossScore({ tokenLogprobs: new Float32Array(0) }), LetheError);
});

test('miaAuc: forget is the positive class, lower score = member', () => {
  // forget {1, 2, 3} vs holdout {2, 4}: forget < holdout in 1<2, 1<4, 2<4, 3<4, tie 2=2 → 4.5/6
  const r = miaAuc([1, 2, 3], [2, 4]);
  close(r.value, 0.75);
  assert.deepEqual(r.perItem, [1, 0.75, 0.5]);
  close(r.value, rocAuc([1, 1, 1, 0, 0], [-1, -2, -3, -2, -4]));
  close(miaAuc([1, 2], [5, 6]).value, 1); // memorised forget set: separated
  close(miaAuc([5, 6], [1, 2]).value, 0);
});

test("PrivLeak, MUSE's convention by default: −100 ≈ still memorised", () => {
  // MUSE AUC = 1 − miaAuc: unlearned 0.01, retrain 0.5 → (0.01 − 0.5)/0.5·100 = −98
  close(privLeak(0.99, 0.5).value, -98, 1e-9);
  close(privLeak(0.5, 0.5).value, 0);
  // members-positive AUC: (0.99 − 0.5)/0.5·100 = 98
  close(privLeak(0.99, 0.5, 'member').value, 98, 1e-9);
  // MUSE News: retrain AUC 0.4772 (MUSE's orientation), so miaAuc 0.5228
  close(privLeak(1 - 0.3, 1 - 0.4772).value, ((0.3 - 0.4772) / 0.4772) * 100, 1e-9);
});

test('PrivLeak without a retrain-model AUC is unavailable, never computed against 0.5', () => {
  for (const retrain of [null, undefined, Number.NaN]) {
    const r = privLeak(0.9, retrain);
    assert.equal(r.value, null);
    assert.match(r.unavailable ?? '', /retrained/);
  }
  assert.equal(privLeak(0.9, 1).value, null); // MUSE AUC of 0: division by zero
});
