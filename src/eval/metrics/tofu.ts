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
import { bootstrapInterval, pick } from '../stats/bootstrap.ts';
import { ksPValue, ksStatistic, ksTwoSample } from '../stats/ks-test.ts';
import { rougeL } from '../stats/rouge.ts';
import { meanResult, unavailable, type MetricOptions, type MetricResult } from './metric-result.ts';

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
export function probability(ce: ArrayLike<number>, options: MetricOptions = {}): MetricResult {
  return meanResult(Array.from(ce, (c) => Math.exp(-c)), 'probability', options);
}

/**
 * Prob on real authors and world facts: per item p̄(a) / (p̄(a) + Σ_j p̄(ã_j)), a the answer and
 * ã_j the wrong options, averaged over items.
 */
export function normalisedProbability(
  answerCe: ArrayLike<number>,
  optionCe: ReadonlyArray<ArrayLike<number>>,
  options: MetricOptions = {},
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
  return meanResult(perItem, 'normalised probability', options);
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
  options: MetricOptions = {},
): MetricResult {
  checkSameLength(paraphrasedCe, perturbedCe, 'truth ratio: paraphrased vs perturbed');
  const ratios = Array.from(paraphrasedCe, (ce, i) =>
    Math.exp(ce - meanOf(perturbedCe[i], `truth ratio: perturbed answers of item ${i}`)),
  );
  // The interval is of the aggregate, so it is taken over the scored values, not over R.
  const result = meanResult(truthRatioScores(ratios, aggregate), 'truth ratio', options);
  return { ...result, perItem: ratios };
}

/** Per-item truth-ratio scores whose mean is the aggregate: min(R, 1/R) ('forget') or max(0, 1 − R) ('retain'). */
export function truthRatioScores(ratios: ArrayLike<number>, aggregate: 'forget' | 'retain'): number[] {
  return Array.from(ratios, (r) => (aggregate === 'forget' ? Math.min(r, 1 / r) : Math.max(0, 1 - r)));
}

/**
 * Forget quality: the p-value of the two-sample KS test (scipy's `ks_2samp`) between the
 * per-item truth ratios R on the forget set of the unlearned model and of the retain model
 * (trained without the forget set). TOFU passes 1/R (open-unlearning 1/(R + 1e-10)); KS is
 * unchanged by a monotone map of both samples, so R is used directly.
 * Without retain-model values there is no forget quality: null, with the reason.
 * perItem: the model's R; groups.reference: the reference's R; n: the model's items.
 *
 * Interval: each bootstrap resample draws forget items again, for BOTH samples, and recomputes
 * the KS distance D. `pairing` 'paired' (the default when both hold the same number of items,
 * as two models scored on one forget set do) applies one draw of item indices to both, so item
 * i of the model stays beside item i of the reference; 'independent' (the default otherwise)
 * draws each sample on its own. D is a supremum, so resampling (which duplicates items) makes
 * it larger on average, and the plain percentile interval of the resampled p-values can lie
 * wholly below the p-value it belongs to; so by default (`bootstrap.method` 'bias-shifted')
 * the percentile interval of D is moved back by the bootstrap bias, mean(D*) − D, and its ends
 * are turned into p-values with the KS distribution of the original sizes (each end taken to
 * the nearest distance the sizes allow). 'percentile' gives
 * the plain percentile interval of the resampled p-values instead.
 */
export function forgetQuality(
  unlearnedTruthRatios: ArrayLike<number>,
  retainTruthRatios: ArrayLike<number> | null | undefined,
  options: MetricOptions & { pairing?: 'paired' | 'independent' } = {},
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
  const reference = Array.from(retainTruthRatios);
  const ks = ksTwoSample(perItem, reference);
  const out: MetricResult = { value: ks.pValue, perItem, n: perItem.length, groups: { reference } };
  if (options.bootstrap === false) return out;
  const pairing = options.pairing ?? (perItem.length === reference.length ? 'paired' : 'independent');
  if (pairing === 'paired' && perItem.length !== reference.length) {
    throw new LetheError(`forget quality: paired resampling needs as many reference items as model items (${reference.length} vs ${perItem.length})`);
  }
  const shifted = (options.bootstrap?.method ?? 'bias-shifted') === 'bias-shifted';
  const stat = (x: Float64Array, y: Float64Array) => (shifted ? ksStatistic(x, y) : ksTwoSample(x, y).pValue);
  const bo = { ...options.bootstrap, method: shifted ? ('bias-shifted' as const) : ('percentile' as const), estimate: shifted ? ks.statistic : ks.pValue };
  const interval = pairing === 'paired'
    ? bootstrapInterval([perItem.length], ([i]) => stat(pick(perItem, i), pick(reference, i)), bo)
    : bootstrapInterval([perItem.length, reference.length], ([i, j]) => stat(pick(perItem, i), pick(reference, j)), bo);
  if ('lower' in interval) {
    interval.note = `${pairing} resampling of the model's and the reference's truth ratios`;
    if (shifted) {
      // A larger distance is a smaller p-value: the upper end of D gives the lower end of forget quality.
      const [dLow, dHigh] = [interval.lower, interval.upper];
      interval.lower = ksPValue(dHigh, perItem.length, reference.length, 'nearest').pValue;
      interval.upper = ksPValue(dLow, perItem.length, reference.length, 'nearest').pValue;
      interval.note += `; the KS distance's percentile interval [${dLow.toPrecision(3)}, ${dHigh.toPrecision(3)}] less its resampling bias, as p-values`;
    }
  }
  out.interval = interval;
  return out;
}

/** Per-item values of one utility set's three numbers, over the same items in the same order. */
export interface UtilityItems {
  /** p̄ per item (normalised over options on real authors / world facts). */
  prob: ArrayLike<number>;
  /** ROUGE-L recall per item. */
  rougeRecall: ArrayLike<number>;
  /** Truth-ratio scores per item, max(0, 1 − R) (`truthRatioScores(R, 'retain')`). */
  truthRatio: ArrayLike<number>;
}

/** The three TOFU numbers of one evaluation set; null when it was not measured. */
export interface UtilitySet {
  prob: number | null;
  rougeRecall: number | null;
  truthRatio: number | null;
  /** Their per-item values, for the interval (and n). */
  items?: UtilityItems;
}

/**
 * TOFU's three utility sets. Real authors and world facts may be left out (absent, not null)
 * for a utility over the retain set alone (a user's own QA files, `--benchmark qa`); a set
 * present with a null number still makes the utility unavailable.
 */
export interface ModelUtilityInputs {
  retain: UtilitySet;
  realAuthors?: UtilitySet;
  worldFacts?: UtilitySet;
}

const UTILITY_SETS = ['retain', 'realAuthors', 'worldFacts'] as const;
const UTILITY_FIELDS = ['prob', 'rougeRecall', 'truthRatio'] as const;

function harmonicMean(values: ArrayLike<number>): number {
  let inverseSum = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === 0) return 0;
    inverseSum += 1 / values[i];
  }
  return values.length / inverseSum;
}

/**
 * Model utility: the harmonic mean of nine numbers, {retain, real authors, world facts} ×
 * {Prob, ROUGE-L recall, truth ratio (aggregated 'retain')}; `perItem` lists them in that
 * order. Any number 0 makes it 0 (as scipy's `hmean`); any missing makes it null. With real
 * authors and world facts left out, the harmonic mean of the retain set's three numbers.
 * n: the items of the three sets together when their per-item values are given (otherwise the
 * nine numbers). Interval: each resample draws the items of each set once and recomputes that
 * set's three means on the same drawn items, then the harmonic mean.
 */
export function modelUtility(inputs: ModelUtilityInputs, options: MetricOptions = {}): MetricResult {
  const missing: string[] = [];
  const values: number[] = [];
  const sets = UTILITY_SETS.filter((set) => inputs[set] !== undefined);
  for (const set of sets) {
    for (const field of UTILITY_FIELDS) {
      const v = inputs[set]![field];
      if (v === null || v === undefined || Number.isNaN(v)) missing.push(`${set}.${field}`);
      else if (v < 0) throw new LetheError(`model utility: ${set}.${field} is ${v}; expected ≥ 0`);
      else values.push(v);
    }
  }
  if (missing.length > 0) {
    return unavailable(`model utility needs all ${sets.length === 3 ? 'nine' : sets.length * 3} numbers; missing ${missing.join(', ')}`, values);
  }
  const items = sets.map((set) => inputs[set]!.items);
  const sizes = items.map((it, k) => {
    if (!it) return -1;
    const len = it.prob.length;
    if (it.rougeRecall.length !== len || it.truthRatio.length !== len) {
      throw new LetheError(`model utility: ${sets[k]} has ${len} Prob, ${it.rougeRecall.length} ROUGE and ${it.truthRatio.length} truth-ratio items; expected the same items`);
    }
    return len;
  });
  const known = sizes.every((s) => s >= 0);
  const out: MetricResult = { value: harmonicMean(values), perItem: values, n: known ? sizes.reduce((a, s) => a + s, 0) : values.length };
  if (options.bootstrap !== false) {
    if (!known) {
      out.interval = { unavailable: `per-item values of ${sets.filter((_, k) => sizes[k] < 0).join(', ')} were not given` };
    } else {
      const arrays = items.map((it) => UTILITY_FIELDS.map((f) => Float64Array.from(it![f])));
      const nine = new Float64Array(3 * sets.length);
      out.interval = bootstrapInterval(sizes, (indices) => {
        for (let k = 0; k < sets.length; k++) {
          const idx = indices[k];
          for (let f = 0; f < 3; f++) {
            const a = arrays[k][f];
            let s = 0;
            for (let i = 0; i < idx.length; i++) s += a[idx[i]];
            nine[k * 3 + f] = s / idx.length;
          }
        }
        return harmonicMean(nine);
      }, options.bootstrap);
    }
  }
  return out;
}

/** TOFU's ROUGE: ROUGE-L recall of each greedy generation against its answer, with stemming. */
export function rougeRecall(
  pairs: ReadonlyArray<{ generation: string; answer: string }>,
  options: { stem?: boolean } & MetricOptions = {},
): MetricResult {
  const stem = options.stem ?? true;
  return meanResult(pairs.map((p) => rougeL(p.answer, p.generation, { stem }).recall), 'ROUGE-L recall', options);
}
