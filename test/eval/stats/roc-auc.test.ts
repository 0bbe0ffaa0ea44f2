// ROC AUC against sklearn.metrics.roc_auc_score (fixture from scripts/make-metric-fixtures.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { rocAuc } from '../../../src/eval/stats/roc-auc.ts';
import { LetheError } from '../../../src/engine/errors.ts';

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/metrics/roc-auc.json', import.meta.url), 'utf8')) as {
  cases: { name: string; labels: number[]; scores: number[]; auc: number }[];
};

for (const c of fixture.cases) {
  test(`roc_auc_score: ${c.name}`, () => {
    const auc = rocAuc(c.labels, c.scores);
    assert.ok(Math.abs(auc - c.auc) <= 1e-12, `${auc} vs ${c.auc}`);
  });
}

test('by hand: ties count one half', () => {
  // positives {2, 3}, negatives {1, 2}: pairs (2>1) 1, (2=2) ½, (3>1) 1, (3>2) 1 → 3.5/4
  assert.equal(rocAuc([true, true, false, false], [2, 3, 1, 2]), 3.5 / 4);
});

test('swapping the classes gives 1 − AUC', () => {
  const labels = [1, 0, 1, 1, 0, 0, 1];
  const scores = [0.2, 0.2, 0.9, 0.4, 0.5, 0.1, 0.5];
  assert.ok(Math.abs(rocAuc(labels.map((l) => 1 - l), scores) - (1 - rocAuc(labels, scores))) < 1e-15);
});

test('a single class is a clear error', () => {
  assert.throws(() => rocAuc([1, 1, 1], [0.1, 0.2, 0.3]), (e: unknown) => e instanceof LetheError && /only one class/.test(e.message));
  assert.throws(() => rocAuc([1, 0], [0.1]), LetheError);
  assert.throws(() => rocAuc([1, 2], [0.1, 0.2]), LetheError);
});
