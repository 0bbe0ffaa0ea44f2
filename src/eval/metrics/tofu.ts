/**
 * TOFU's metrics (Maini et al. 2024), as REFERENCE.md defines them and TOFU's
 * `aggregate_eval_stat.py` / open-unlearning compute them. Inputs are per-item mean token
 * losses `ce = nll/|y|` from the scoring pass; nothing here runs a model.
 *
 * Length normalisation: TOFU and open-unlearning both build Prob and the truth ratio from
 * per-token mean losses (`avg_gt_loss`, `avg_paraphrased_loss`, `average_perturb_loss`), i.e.
 * geometric-mean token probabilities, never summed log-probs; so does this file.
 * The published code adds 1e-10 to denominators (R = p̄(ã)/(p̄(â) + 1e-10), min(R, 1/(R + 1e-10)),
 * p̄(a)/(p̄(a) + Σ p̄(ã) + 1e-10)); here R is formed in log space, exp(ce(â) − mean_j ce(ã_j)),
 * which needs no guard. The two differ only when a probability is below ~1e-8.
 */
import { LetheError } from '../../engine/errors.ts';
import { ksTwoSample } from '../stats/ks-test.ts';
import { rougeL } from '../stats/rouge.ts';
import { meanResult, unavailable, type MetricResult } from './metric-result.ts';

function meanOf(xs: ArrayLike<number>, what: string): number {
  if (xs.length === 0) throw new LetheError(`${what} is empty`);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

function checkSameLength(a: ArrayLike<unknown>, b: ArrayLike<unknown>, what: string): void {
  if (a.length !== b.length) throw new LetheError(`${what}: ${a.length} items vs ${b.length} items`);
}

/** Prob (forget and retain sets): mean over items of p̄ = exp(−ce). */
export function probability(ce: ArrayLike<number>): MetricResult {
  return meanResult(Array.from(ce, (c) => Math.exp(-c)), 'probability');
}

/**
 * Prob on real authors and world facts: per item p̄(a) / (p̄(a) + Σ_j p̄(ã_j)), a the answer and
 * ã_j the wrong options, averaged over items.
 */
export function normalisedProbability(
  answerCe: ArrayLike<number>,
  optionCe: ReadonlyArray<ArrayLike<number>>,
): MetricResult {
  checkSameLength(answerCe, optionCe, 'normalised probability: answers vs options');
  const perItem = Array.from(answerCe, (ce, i) => {
    const options = optionCe[i];
    if (options.length === 0) throw new LetheError(`normalised probability: item ${i} has no options`);
    const p = Math.exp(-ce);
    let others = 0;
    for (let j = 0; j < options.length; j++) others += Math.exp(-options[j]);
    return p / (p + others);
  });
  return meanResult(perItem, 'normalised probability');
}

/**
 * Truth ratio. Per item R = exp(−mean_j ce(ã_j)) / exp(−ce(â)), ã_j the perturbed (wrong)
 * answers and â the paraphrased answer (the original answer on real authors / world facts).
 * `perItem` holds R itself (forget quality needs it); `value` aggregates:
 *  - 'forget' (the forget set): mean(min(R, 1/R)) — 1 when true and false are equally likely;
 *  - 'retain' (retain set, real authors, world facts): mean(max(0, 1 − R)) — high when the
 *    true answer is preferred.
 */
export function truthRatio(
  paraphrasedCe: ArrayLike<number>,
  perturbedCe: ReadonlyArray<ArrayLike<number>>,
  aggregate: 'forget' | 'retain',
): MetricResult {
  checkSameLength(paraphrasedCe, perturbedCe, 'truth ratio: paraphrased vs perturbed');
  const ratios = Array.from(paraphrasedCe, (ce, i) =>
    Math.exp(ce - meanOf(perturbedCe[i], `truth ratio: perturbed answers of item ${i}`)),
  );
  const scored = ratios.map((r) => (aggregate === 'forget' ? Math.min(r, 1 / r) : Math.max(0, 1 - r)));
  const result = meanResult(scored, 'truth ratio');
  return { ...result, perItem: ratios };
}

/**
 * Forget quality: the p-value of the two-sample KS test (scipy's `ks_2samp`) between the
 * per-item truth ratios R on the forget set of the unlearned model and of the retain model
 * (trained without the forget set). TOFU passes 1/R (open-unlearning 1/(R + 1e-10)); KS is
 * unchanged by a monotone map of both samples, so R is used directly.
 * Without retain-model values there is no forget quality: null, with the reason.
 */
export function forgetQuality(
  unlearnedTruthRatios: ArrayLike<number>,
  retainTruthRatios: ArrayLike<number> | null | undefined,
): MetricResult {
  const perItem = Array.from(unlearnedTruthRatios);
  if (retainTruthRatios == null || retainTruthRatios.length === 0) {
    return unavailable(
      'forget quality needs the forget-set truth ratios of a retain model (trained without the ' +
        'forget set); none were given, so there is no forget quality to report',
      perItem,
    );
  }
  if (perItem.length === 0) return unavailable('forget quality: no unlearned-model truth ratios', perItem);
  return { value: ksTwoSample(perItem, retainTruthRatios).pValue, perItem };
}

/** The three TOFU numbers of one evaluation set; null when it was not measured. */
export interface UtilitySet {
  prob: number | null;
  rougeRecall: number | null;
  truthRatio: number | null;
}

export interface ModelUtilityInputs {
  retain: UtilitySet;
  realAuthors: UtilitySet;
  worldFacts: UtilitySet;
}

/**
 * Model utility: the harmonic mean of nine numbers, {retain, real authors, world facts} ×
 * {Prob, ROUGE-L recall, truth ratio (aggregated 'retain')}; `perItem` lists them in that
 * order. Any number 0 makes it 0 (as scipy's `hmean`); any missing makes it null.
 */
export function modelUtility(inputs: ModelUtilityInputs): MetricResult {
  const sets = ['retain', 'realAuthors', 'worldFacts'] as const;
  const fields = ['prob', 'rougeRecall', 'truthRatio'] as const;
  const missing: string[] = [];
  const values: number[] = [];
  for (const set of sets) {
    for (const field of fields) {
      const v = inputs[set][field];
      if (v === null || v === undefined || Number.isNaN(v)) missing.push(`${set}.${field}`);
      else if (v < 0) throw new LetheError(`model utility: ${set}.${field} is ${v}; expected ≥ 0`);
      else values.push(v);
    }
  }
  if (missing.length > 0) {
    return unavailable(`model utility needs all nine numbers; missing ${missing.join(', ')}`, values);
  }
  if (values.some((v) => v === 0)) return { value: 0, perItem: values };
  let inverseSum = 0;
  for (const v of values) inverseSum += 1 / v;
  return { value: values.length / inverseSum, perItem: values };
}

/** TOFU's ROUGE: ROUGE-L recall of each greedy generation against its answer, with stemming. */
export function rougeRecall(
  pairs: ReadonlyArray<{ generation: string; answer: string }>,
  options: { stem?: boolean } = {},
): MetricResult {
  const stem = options.stem ?? true;
  return meanResult(pairs.map((p) => rougeL(p.answer, p.generation, { stem }).recall), 'ROUGE-L recall');
}
