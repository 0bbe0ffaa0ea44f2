// The TOFU evaluation (REFERENCE.md, TOFU; MIA; memorisation) of one model, from one scoring
// pass per text: forget-set Prob, truth ratio and ROUGE, forget quality against a retain model's
// truth ratios, model utility over retain / real authors / world facts, Exact Memorization and
// Extraction Strength, and membership-inference AUCs of the forget set against a holdout set.
// Every metric carries n (the items it was computed on) and a seeded 95% percentile bootstrap
// interval over items (src/eval/stats/bootstrap.ts): forget quality resamples both models'
// truth ratios, model utility each utility set's items across its three numbers at once.

import type { QaItem } from '../data/qa-dataset.ts';
import type { PromptTemplate } from '../data/templates.ts';
import { exactMemorization, extractionStrength } from './metrics/memorisation.ts';
import { unavailable, withSkipped, type MetricOptions, type MetricResult } from './metrics/metric-result.ts';
import { forgetQuality, modelUtility, normalisedProbability, probability, rougeRecall, truthRatio, truthRatioScores, type UtilitySet } from './metrics/tofu.ts';
import type { GradientNorms } from './grad-norms.ts';
import { miaAucs } from './mia-aucs.ts';
import type { Scorer, ScoredText } from './score.ts';

export interface TofuSets {
  /** Forget items with paraphrased and perturbed answers (forgetXX_perturbed). */
  forget: QaItem[];
  /** Retain items with paraphrased and perturbed answers (retain_perturbed). */
  retain: QaItem[];
  realAuthors?: QaItem[];
  worldFacts?: QaItem[];
  /** Items the model never saw, for membership inference against the forget set. */
  holdout?: QaItem[];
}

export interface TofuEvalOptions {
  template: PromptTemplate;
  /** Greedy answers for ROUGE (up to 200 new tokens); without it ROUGE and utility are unavailable. */
  generate?: (prompts: string[]) => Promise<string[]>;
  /** The retain model's per-item forget truth ratios (its results' tofu.forgetTruthRatio.perItem). */
  retainTruthRatios?: number[] | null;
  /** Scores of the same texts under a reference model (the Reference MIA attack). */
  referenceScorer?: Scorer;
  /** Per-text gradient norms of this model (the GradNorm MIA attack). */
  gradientNorms?: GradientNorms;
  /**
   * The 95% percentile bootstrap over items on every metric (seed, resamples, level), or false
   * for none. Forget quality resamples the forget items of both models together (the same items).
   */
  bootstrap?: MetricOptions['bootstrap'];
  /**
   * 'tofu' (default): model utility over retain, real authors and world facts, unavailable when
   * one is missing. 'given': over the sets given (a user's own QA files: the retain set alone
   * when no real-author or world-fact set is given).
   */
  utilityOver?: 'tofu' | 'given';
}

export type MetricFamilies = Record<string, Record<string, MetricResult>>;

const ces = (xs: ScoredText[]) => xs.map((x) => x.ce);

export async function evaluateTofu(scorer: Scorer, sets: TofuSets, opts: TofuEvalOptions): Promise<MetricFamilies> {
  const t = opts.template;
  const qa = (items: QaItem[], answer: (i: QaItem) => string = (i) => i.answer) => scorer.score(items.map((i) => t.pair(i.question, answer(i))));
  const perturbed = async (items: QaItem[]) => {
    const flat = await scorer.score(items.flatMap((i) => (i.perturbedAnswers ?? []).map((a) => t.pair(i.question, a))));
    let at = 0;
    return items.map((i) => ces(flat.slice(at, (at += (i.perturbedAnswers ?? []).length))));
  };
  const tofu: Record<string, MetricResult> = {};
  const mo: MetricOptions = { bootstrap: opts.bootstrap };
  const rouge = async (items: QaItem[]): Promise<MetricResult> => {
    if (!opts.generate) return unavailable('ROUGE needs generations; this evaluation ran without generating');
    const generations = await opts.generate(items.map((i) => t.prompt(i.question)));
    return rougeRecall(items.map((i, k) => ({ generation: generations[k], answer: i.answer })), mo);
  };
  // One set's three utility numbers with their per-item values (the model-utility interval resamples them together).
  const utilitySet = (prob: MetricResult, rougeL: MetricResult, tr: MetricResult): UtilitySet => ({
    prob: prob.value,
    rougeRecall: rougeL.value,
    truthRatio: tr.value,
    ...(rougeL.value !== null ? { items: { prob: prob.perItem, rougeRecall: rougeL.perItem, truthRatio: truthRatioScores(tr.perItem, 'retain') } } : {}),
  });

  // The truth ratio needs perturbed answers: items without them (a user's own QA files) are
  // left out of it, and of forget quality, and counted.
  const truthRatioOn = async (items: QaItem[], aggregate: 'forget' | 'retain', what: string): Promise<MetricResult> => {
    const withPerturbed = items.filter((i) => i.perturbedAnswers?.length);
    const skipped = items.length - withPerturbed.length;
    if (withPerturbed.length === 0) return unavailable(`the truth ratio needs perturbed answers; none of the ${items.length} ${what} items has any`);
    const tr = truthRatio(ces(await qa(withPerturbed, (i) => i.paraphrasedAnswer ?? i.answer)), await perturbed(withPerturbed), aggregate, mo);
    return withSkipped(tr, skipped > 0 ? { count: skipped, reason: 'no perturbed answers' } : undefined);
  };

  // Forget set.
  const forget = await qa(sets.forget);
  tofu.forgetProb = probability(ces(forget), mo);
  const forgetTr = await truthRatioOn(sets.forget, 'forget', 'forget');
  tofu.forgetTruthRatio = forgetTr;
  tofu.forgetRouge = await rouge(sets.forget);
  tofu.forgetQuality = forgetTr.value === null
    ? unavailable(`forget quality compares truth ratios: ${forgetTr.unavailable}`)
    : forgetQuality(forgetTr.perItem, opts.retainTruthRatios ?? null, mo);

  // Utility sets: retain (paraphrase vs perturbed), real authors and world facts (answer vs options).
  const utility: Record<'retain' | 'realAuthors' | 'worldFacts', UtilitySet> = {
    retain: { prob: null, rougeRecall: null, truthRatio: null },
    realAuthors: { prob: null, rougeRecall: null, truthRatio: null },
    worldFacts: { prob: null, rougeRecall: null, truthRatio: null },
  };
  const retain = await qa(sets.retain);
  tofu.retainProb = probability(ces(retain), mo);
  tofu.retainTruthRatio = await truthRatioOn(sets.retain, 'retain', 'retain');
  tofu.retainRouge = await rouge(sets.retain);
  // The utility's per-item interval needs the three numbers on the same items: with items
  // left out of the truth ratio, the utility keeps its value and loses the per-item values.
  utility.retain = utilitySet(tofu.retainProb, tofu.retainRouge, tofu.retainTruthRatio);
  if (tofu.retainTruthRatio.skipped !== undefined) delete utility.retain.items;
  for (const [name, items] of [['realAuthors', sets.realAuthors], ['worldFacts', sets.worldFacts]] as const) {
    if (!items?.length) continue;
    const answers = ces(await qa(items));
    const options = await perturbed(items);
    tofu[`${name}Prob`] = normalisedProbability(answers, options, mo);
    // TOFU's real-author and world-fact sets compare the answer itself with the wrong options.
    tofu[`${name}TruthRatio`] = truthRatio(answers, options, 'retain', mo);
    tofu[`${name}Rouge`] = await rouge(items);
    utility[name] = utilitySet(tofu[`${name}Prob`], tofu[`${name}Rouge`], tofu[`${name}TruthRatio`]);
  }
  const given = { retain: utility.retain, ...(sets.realAuthors?.length ? { realAuthors: utility.realAuthors } : {}), ...(sets.worldFacts?.length ? { worldFacts: utility.worldFacts } : {}) };
  tofu.modelUtility = modelUtility(opts.utilityOver === 'given' ? given : utility, mo);

  const memorisation = { exactMemorization: exactMemorization(forget, mo), extractionStrength: extractionStrength(forget, mo) };

  // Membership inference: forget (members) vs holdout (non-members), same texts as Prob.
  let mia: Record<string, MetricResult> = {};
  if (sets.holdout?.length) {
    mia = await miaAucs(forget, await qa(sets.holdout), { referenceScorer: opts.referenceScorer, gradientNorms: opts.gradientNorms }, mo);
  } else {
    mia.lossAuc = unavailable('membership inference needs a holdout set the model never saw');
  }
  return { tofu, memorisation, mia };
}
