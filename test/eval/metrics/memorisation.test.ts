// Exact Memorization and Extraction Strength on literal predictions, by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exactMemorization, extractionStrength } from '../../../src/eval/metrics/memorisation.ts';
import { LetheError } from '../../../src/engine/errors.ts';

function close(actual: number | null, expected: number): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= 1e-15, `${actual} vs ${expected}`);
}

const items = [
  { argmax: [5, 7, 9, 9], labels: [5, 8, 9, 9] }, // one miss at t=1: EM 3/4, k* = 2, ES 1 − 2/4
  { argmax: Int32Array.from([1, 2, 3]), labels: Int32Array.from([1, 2, 3]) }, // all right: EM 1, ES 1
  { argmax: [1, 2, 4], labels: [1, 2, 3] }, // last wrong: EM 2/3, k* = 3, ES 0
  { argmax: [0, 1, 1, 1, 1], labels: [1, 1, 1, 1, 1] }, // first wrong: EM 4/5, k* = 1, ES 4/5
];

test('exact memorization: fraction of positions where the argmax is the label', () => {
  const r = exactMemorization(items);
  [3 / 4, 1, 2 / 3, 4 / 5].forEach((v, i) => close(r.perItem[i], v));
  close(r.value, (3 / 4 + 1 + 2 / 3 + 4 / 5) / 4);
});

test('extraction strength: 1 − k*/|y|, and 0 when the last token is wrong', () => {
  const r = extractionStrength(items);
  [0.5, 1, 0, 4 / 5].forEach((v, i) => close(r.perItem[i], v));
  close(r.value, (0.5 + 1 + 0 + 0.8) / 4);
});

test('mismatched or empty items are refused; no items is unavailable', () => {
  assert.throws(() => exactMemorization([{ argmax: [1], labels: [1, 2] }]), LetheError);
  assert.throws(() => extractionStrength([{ argmax: [], labels: [] }]), LetheError);
  assert.equal(exactMemorization([]).value, null);
});
