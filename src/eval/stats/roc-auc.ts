/**
 * Area under the ROC curve, equal to scikit-learn's `roc_auc_score(labels, scores)` for binary
 * labels: label 1 (or true) is the positive class and a higher score means "more positive".
 * Computed by ranks (Mann–Whitney): AUC = (R₁ − n₁(n₁+1)/2) / (n₁·n₀), R₁ the sum of the
 * positives' ranks with tied scores given their average rank, so AUC = P(s₊ > s₋) + ½·P(s₊ = s₋)
 * — what sklearn's trapezoid over the tie-grouped ROC curve gives.
 *
 * Membership inference orients scores the other way (like a loss); `miaAuc` in
 * eval/metrics/mia.ts states which class is positive there.
 */
import { LetheError } from '../../engine/errors.ts';

export function rocAuc(labels: ArrayLike<number | boolean>, scores: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) {
    throw new LetheError(`roc auc: ${labels.length} labels for ${n} scores`);
  }
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new LetheError(`roc auc: score ${i} is NaN`);
  }
  order.sort((p, q) => scores[p] - scores[q] || 0);
  let nPos = 0;
  let rankSumPos = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]] === scores[order[start]]) end++;
    const meanRank = (start + 1 + end) / 2; // ranks start+1 .. end share their mean
    for (let k = start; k < end; k++) {
      if (isPositive(labels[order[k]], order[k])) {
        nPos++;
        rankSumPos += meanRank;
      }
    }
    start = end;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) {
    throw new LetheError(
      `roc auc: only one class present (${nPos} positive, ${nNeg} negative); AUC is not defined`,
    );
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

function isPositive(label: number | boolean, i: number): boolean {
  if (label === true || label === 1) return true;
  if (label === false || label === 0) return false;
  throw new LetheError(`roc auc: label ${i} is ${String(label)}; expected 0/1 or false/true`);
}
