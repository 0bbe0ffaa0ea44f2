/**
 * Memorisation metrics from teacher-forced predictions (REFERENCE.md, "Memorisation"): for each
 * item, `argmax[t]` is the model's most likely token at target position t given the true
 * prefix, and `labels[t]` the true token.
 *
 * - Exact Memorization (Tirumala et al. 2022): the fraction of target positions where
 *   argmax equals the label.
 * - Extraction Strength (Carlini et al. 2021, as open-unlearning computes it): 1 − k* / |y|, k* the
 *   smallest prefix length after which the argmax matches every remaining label. A last token
 *   that is wrong gives k* = |y| and ES = 0; open-unlearning's loop stops at k = |y| − 1 there
 *   and reports 1/|y|.
 */
import { LetheError } from '../../engine/errors.ts';
import { meanResult, type MetricOptions, type MetricResult } from './metric-result.ts';

export interface MemorisationItem {
  argmax: ArrayLike<number>;
  labels: ArrayLike<number>;
}

function check(item: MemorisationItem, i: number, what: string): number {
  const n = item.labels.length;
  if (item.argmax.length !== n) {
    throw new LetheError(`${what}: item ${i} has ${item.argmax.length} predictions for ${n} labels`);
  }
  if (n === 0) throw new LetheError(`${what}: item ${i} has no target tokens`);
  return n;
}

export function exactMemorization(items: readonly MemorisationItem[], options: MetricOptions = {}): MetricResult {
  const perItem = items.map((item, i) => {
    const n = check(item, i, 'exact memorization');
    let hits = 0;
    for (let t = 0; t < n; t++) if (item.argmax[t] === item.labels[t]) hits++;
    return hits / n;
  });
  return meanResult(perItem, 'exact memorization', options);
}

export function extractionStrength(items: readonly MemorisationItem[], options: MetricOptions = {}): MetricResult {
  const perItem = items.map((item, i) => {
    const n = check(item, i, 'extraction strength');
    let kStar = n; // k* = 1 + the last mismatching position, 0 if none
    while (kStar > 0 && item.argmax[kStar - 1] === item.labels[kStar - 1]) kStar--;
    return 1 - kStar / n;
  });
  return meanResult(perItem, 'extraction strength', options);
}
