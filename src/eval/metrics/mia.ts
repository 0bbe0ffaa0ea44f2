/**
 * Membership-inference scores, the forget-vs-holdout AUC and MUSE's PrivLeak (REFERENCE.md,
 * "Membership inference" and "MUSE").
 *
 * Orientation, once for the whole file: every score is oriented like a loss — a HIGHER score
 * means the text looks LESS like a training member. Inputs are teacher-forced per-token
 * log-probabilities of the target tokens (one Float32Array per item); sums are in float64.
 *
 * Choices where the published tools differ:
 *  - Min-K% keeps max(1, ⌊k·n⌋) tokens (open-unlearning); MUSE's ⌊k·n⌋ gives NaN below 3 tokens.
 *  - Min-K%++ floors σ² at 1e-6 (open-unlearning) so a one-hot next-token distribution does
 *    not divide by zero; the Min-K%++ paper's code does not.
 *  - ZLib divides by the length of `deflateSync(utf8(text))` at the default level, the
 *    literature's `len(zlib.compress(text))`. Node's bundled zlib (like pako) emits slightly
 *    different streams from the system zlib 1.2.13 that Debian's Python uses: on TOFU texts the
 *    byte counts differ by a median 1% (max 5%), so ZLib scores differ from Python's by as much.
 */
import { deflateSync } from 'node:zlib';
import { LetheError } from '../../engine/errors.ts';
import { bootstrapInterval, pick } from '../stats/bootstrap.ts';
import { meanResult, unavailable, type MetricOptions, type MetricResult } from './metric-result.ts';

/** Default fraction k of lowest-probability tokens for Min-K% and Min-K%++. */
export const MIN_K_FRACTION = 0.4;
const MIN_VARIANCE = 1e-6;

/** One scored text. Optional fields are needed only by the attacks that use them. */
export interface MiaItem {
  /** log p_θ(y_t | x, y_<t) for each target token. */
  tokenLogprobs: Float32Array;
  /** The scored text (ZLib). */
  text?: string;
  /** μ_t = E_{v~p}[log p(v)] over the vocabulary at each position (Min-K%++). */
  tokenMean?: Float32Array;
  /** σ²_t = E_{v~p}[(log p(v))²] − μ_t² at each position (Min-K%++). */
  tokenVariance?: Float32Array;
  /** Mean token NLL of the same text under the reference model (Reference). */
  referenceNll?: number;
  /** ‖∇_W nll‖₂ for each parameter tensor W, batch size 1 (GradNorm). */
  gradientNorms?: ArrayLike<number>;
}

export type MiaAttack = 'loss' | 'zlib' | 'minK' | 'minKPlusPlus' | 'reference' | 'gradNorm';

function meanNll(lp: Float32Array): number {
  if (lp.length === 0) throw new LetheError('mia: an item has no target tokens');
  let s = 0;
  for (let i = 0; i < lp.length; i++) s -= lp[i];
  return s / lp.length;
}

/** −mean of the lowest max(1, ⌊k·n⌋) values. */
function minKMean(values: Float64Array, k: number): number {
  const sorted = values.slice().sort();
  const count = Math.max(1, Math.floor(values.length * k));
  let s = 0;
  for (let i = 0; i < count; i++) s += sorted[i];
  return -s / count;
}

/** LOSS: mean token NLL. */
export function lossScore(item: MiaItem): number {
  return meanNll(item.tokenLogprobs);
}

/** ZLib: mean token NLL / zlib-compressed length of the text in bytes. */
export function zlibScore(item: MiaItem): number {
  if (item.text === undefined) throw new LetheError('mia zlib: item has no text');
  return meanNll(item.tokenLogprobs) / deflateSync(Buffer.from(item.text, 'utf8')).length;
}

/** Min-K%: −mean of the lowest k fraction of token log-probs. */
export function minKScore(item: MiaItem, k = MIN_K_FRACTION): number {
  if (item.tokenLogprobs.length === 0) throw new LetheError('mia: an item has no target tokens');
  return minKMean(Float64Array.from(item.tokenLogprobs), k);
}

/** Min-K%++: Min-K% on the standardised log-probs (log p − μ) / σ. */
export function minKPlusPlusScore(item: MiaItem, k = MIN_K_FRACTION): number {
  const { tokenLogprobs: lp, tokenMean: mu, tokenVariance: v } = item;
  if (mu === undefined || v === undefined) throw new LetheError('mia min-k++: item has no tokenMean/tokenVariance');
  if (mu.length !== lp.length || v.length !== lp.length) {
    throw new LetheError(`mia min-k++: ${lp.length} log-probs but ${mu.length} means and ${v.length} variances`);
  }
  if (lp.length === 0) throw new LetheError('mia: an item has no target tokens');
  const z = Float64Array.from(lp, (l, t) => (l - mu[t]) / Math.sqrt(Math.max(v[t], MIN_VARIANCE)));
  return minKMean(z, k);
}

/** Reference: NLL under the model minus NLL under the reference model. */
export function referenceScore(item: MiaItem): number {
  if (item.referenceNll === undefined) throw new LetheError('mia reference: item has no referenceNll');
  return meanNll(item.tokenLogprobs) - item.referenceNll;
}

/** GradNorm: the per-tensor gradient norms, averaged. */
export function gradNormScore(item: MiaItem): number {
  const g = item.gradientNorms;
  if (g === undefined || g.length === 0) throw new LetheError('mia gradnorm: item has no gradientNorms');
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i];
  return s / g.length;
}

const SCORERS: Record<MiaAttack, (item: MiaItem, k: number) => number> = {
  loss: lossScore,
  zlib: zlibScore,
  minK: minKScore,
  minKPlusPlus: minKPlusPlusScore,
  reference: referenceScore,
  gradNorm: gradNormScore,
};

/** The optional input each attack needs, and what supplies it. */
const NEEDS: Partial<Record<MiaAttack, [keyof MiaItem, string]>> = {
  zlib: ['text', 'the scored texts'],
  minKPlusPlus: ['tokenVariance', 'per-token vocabulary mean and variance of log p'],
  reference: ['referenceNll', 'a reference model'],
  gradNorm: ['gradientNorms', 'per-item gradient norms'],
};

/**
 * Scores of one attack for every item (`perItem`) and their mean (`value`). When no item has
 * the input the attack needs (no reference model, no gradients), null with the reason.
 */
export function miaScores(items: readonly MiaItem[], attack: MiaAttack, k = MIN_K_FRACTION, options: MetricOptions = {}): MetricResult {
  const need = NEEDS[attack];
  if (need !== undefined && items.length > 0 && items.every((item) => item[need[0]] === undefined)) {
    return unavailable(`mia ${attack} needs ${need[1]}; none were given`);
  }
  const score = SCORERS[attack];
  return meanResult(items.map((item) => score(item, k)), `mia ${attack}`, options);
}

/**
 * Forget-vs-holdout AUC of an attack: forget items are the positive class (members) and a
 * LOWER loss-like score predicts "member", so AUC = P(s_forget < s_holdout) + ½·P(tie):
 * 1 when the attack separates the forget set (it is still memorised), 0.5 when it cannot.
 * (MUSE's code reports the complement, P(s_forget > s_holdout); see `privLeak`.) Equal to
 * scikit-learn's `roc_auc_score` with forget labelled 1 and the negated scores.
 * `perItem[i]` is forget item i's share of holdout items scoring above it (ties ½); their mean
 * is the AUC. n: forget items; `groups` keeps both samples' scores (PrivLeak resamples them).
 * Interval: forget and holdout items are drawn again independently (two groups) and the AUC
 * recomputed.
 */
export function miaAuc(forgetScores: ArrayLike<number>, holdoutScores: ArrayLike<number>, options: MetricOptions = {}): MetricResult {
  const forget = Float64Array.from(forgetScores);
  const holdout = Float64Array.from(holdoutScores);
  if (forget.length === 0 || holdout.length === 0) {
    throw new LetheError(`mia auc: ${forget.length} forget and ${holdout.length} holdout scores; AUC needs both`);
  }
  if (forget.some(Number.isNaN) || holdout.some(Number.isNaN)) throw new LetheError('mia auc: a score is NaN');
  const perItem = shares(forget, holdout.slice().sort());
  const value = perItem.reduce((a, v) => a + v, 0) / perItem.length;
  const out: MetricResult = { value, perItem, n: forget.length, groups: { forget: Array.from(forget), holdout: Array.from(holdout) } };
  if (options.bootstrap !== false) {
    out.interval = bootstrapInterval([forget.length, holdout.length], ([i, j]) => memberAuc(pick(forget, i), pick(holdout, j)), options.bootstrap);
  }
  return out;
}

/** Each forget score's share of holdout scores above it (ties ½), the holdout sorted. */
function shares(forget: Float64Array, sortedHoldout: Float64Array): number[] {
  const m = sortedHoldout.length;
  return Array.from(forget, (s) => {
    const below = upperBound(sortedHoldout, s, false);
    const atOrBelow = upperBound(sortedHoldout, s, true);
    return (m - atOrBelow + 0.5 * (atOrBelow - below)) / m;
  });
}

/** P(s_forget < s_holdout) + ½·P(tie). */
function memberAuc(forget: Float64Array, holdout: Float64Array): number {
  const sorted = holdout.sort();
  let s = 0;
  for (const v of shares(forget, sorted)) s += v;
  return s / forget.length;
}

/** Number of sorted values < s (orEqual false) or ≤ s (orEqual true). */
function upperBound(sorted: Float64Array, s: number, orEqual: boolean): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < s || (orEqual && sorted[mid] === s)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Which AUC PrivLeak is formed from, both computed from `miaAuc` values:
 *  - 'muse' (default): MUSE's AUC, 1 − miaAuc. PrivLeak ≈ −100 for a model that still
 *    memorises the forget set, 0 at the retrained model, positive for over-unlearning — the sign
 *    REFERENCE.md describes and the numbers MUSE publishes (target model −99.8 on News).
 *  - 'member': miaAuc itself (members as the positive class), the other published form; the
 *    sign flips and the scale changes.
 */
export type PrivLeakConvention = 'muse' | 'member';

/** Per-item forget and holdout scores behind an AUC (an AUC result's `groups`). */
export interface AucScores {
  forget: ArrayLike<number>;
  holdout: ArrayLike<number>;
}

function aucParts(x: number | MetricResult | null | undefined): { auc: number | null; scores: AucScores | null } {
  if (x == null) return { auc: null, scores: null };
  if (typeof x === 'number') return { auc: Number.isNaN(x) ? null : x, scores: null };
  const g = x.groups;
  return { auc: x.value, scores: g?.forget && g.holdout ? { forget: g.forget, holdout: g.holdout } : null };
}

/**
 * PrivLeak = (AUC_unlearned − AUC_retrain) / AUC_retrain × 100, with the Min-K% (k = 0.4)
 * forget-vs-holdout AUC. Null with the reason when the retrain (retain) model's AUC is missing —
 * never a default of 0.5.
 *
 * Each AUC is a number or the `miaAuc` result itself; a result carries its per-item scores, and
 * then PrivLeak has an interval: forget and holdout items are drawn again and both AUCs
 * recomputed on the same drawn items (both models were scored on the same texts), or, when only
 * the unlearned model's scores are known, with the retain AUC held fixed (said in the interval's
 * note). n: the forget items of the unlearned model's AUC (0 when only numbers were given).
 */
export function privLeak(
  aucUnlearned: number | MetricResult,
  aucRetrain: number | MetricResult | null | undefined,
  convention: PrivLeakConvention = 'muse',
  options: MetricOptions = {},
): MetricResult {
  const u = aucParts(aucUnlearned);
  const r = aucParts(aucRetrain);
  if (u.auc === null) return unavailable(`PrivLeak needs the unlearned model's forget-vs-holdout AUC: ${typeof aucUnlearned === 'object' ? aucUnlearned.unavailable ?? 'there is none' : 'there is none'}`);
  if (r.auc === null) {
    return unavailable(
      'PrivLeak needs the forget-vs-holdout AUC of a retrained (retain) model; none was given, ' +
        'so there is no PrivLeak to report',
    );
  }
  const leak = (au: number, ar: number) => {
    const [a, b] = convention === 'muse' ? [1 - au, 1 - ar] : [au, ar];
    return ((a - b) / b) * 100;
  };
  const base = convention === 'muse' ? 1 - r.auc : r.auc;
  if (base === 0) return unavailable(`PrivLeak (${convention} convention): the retrained model's AUC is ${r.auc}, which it cannot be divided by`);
  const out: MetricResult = { value: leak(u.auc, r.auc), perItem: [], n: u.scores ? u.scores.forget.length : 0 };
  if (options.bootstrap === false) return out;
  if (!u.scores) {
    out.interval = { unavailable: "PrivLeak's interval needs the unlearned model's per-item forget and holdout scores; only its AUC was given" };
    return out;
  }
  const uf = Float64Array.from(u.scores.forget), uh = Float64Array.from(u.scores.holdout);
  const sameItems = r.scores !== null && r.scores.forget.length === uf.length && r.scores.holdout.length === uh.length;
  const rf = sameItems ? Float64Array.from(r.scores!.forget) : null;
  const rh = sameItems ? Float64Array.from(r.scores!.holdout) : null;
  const retainFixed = r.auc;
  out.interval = bootstrapInterval([uf.length, uh.length], ([i, j]) => {
    const ar = rf && rh ? memberAuc(pick(rf, i), pick(rh, j)) : retainFixed;
    return leak(memberAuc(pick(uf, i), pick(uh, j)), ar);
  }, options.bootstrap);
  if ('lower' in out.interval) {
    out.interval.note = sameItems
      ? "forget and holdout items drawn once per resample for both models' AUCs"
      : `the retain model's AUC held fixed at ${r.auc} (${r.scores ? 'its per-item scores cover different items' : 'its per-item scores were not given'})`;
  }
  return out;
}
