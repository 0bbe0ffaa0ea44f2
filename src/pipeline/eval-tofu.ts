// The TOFU evaluation as `lethe eval --benchmark tofu` runs it: which items (a forget split of
// the full benchmark, or a small author subset), one scoring pass and greedy generations
// through evaluateTofu, and what a retain model contributes (its forget-set truth ratios for
// forget quality, its Min-K% AUC for PrivLeak).

import { LetheError } from '../engine/errors.ts';
import { readQaJsonl, type QaItem } from '../data/qa-dataset.ts';
import { assertDisjointQaFiles, readQaFile } from '../data/qa-files.ts';
import type { PromptTemplate } from '../data/templates.ts';
import { loadTofuSplit, selectTofuAuthors, TOFU_FIRST_FORGET_AUTHOR, TOFU_ROWS_PER_AUTHOR, type TofuSubset } from '../data/tofu.ts';
import { GradientNorms } from '../eval/grad-norms.ts';
import { evaluateTofu, type TofuSets } from '../eval/tofu-benchmark.ts';
import type { Scorer } from '../eval/score.ts';
import { Generator } from '../models/generate.ts';
import type { Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { CountingScorer, countingGenerate, type EvalMeter } from './eval-meter.ts';
import type { MetricFamilies } from './results-file.ts';

export interface TofuSelection {
  forgetSplit: string;
  tofuAuthors?: number;
  forgetAuthors?: number;
  /** A JSON Lines file of items no model saw (membership inference). */
  holdout?: string;
  /** At most this many items per set. */
  limit?: number;
}

/**
 * The sets of a TOFU evaluation. The full benchmark: forgetXX_perturbed, retain_perturbed, real
 * authors and world facts, and a holdout only when given. A subset of N authors forgetting K:
 * its forget and retain authors, and as holdout the next K authors of forget10 (seen by neither
 * model), so membership inference runs on small cases too.
 */
/** The sets, what to record about them, and with --tofu-authors the author subset they come from. */
export function tofuSets(sel: TofuSelection): { sets: TofuSets; info: Record<string, unknown>; subset?: TofuSubset } {
  let sets: TofuSets;
  let subset: TofuSubset | undefined;
  const info: Record<string, unknown> = {};
  if (sel.tofuAuthors !== undefined) {
    const k = sel.forgetAuthors!;
    subset = selectTofuAuthors({ authors: sel.tofuAuthors, forget: k });
    const forget10 = loadTofuSplit('forget10_perturbed');
    const holdoutAuthors = Math.min(k, 20 - k);
    sets = {
      forget: subset.forgetSet,
      retain: subset.retainSet.filter((i) => i.perturbedAnswers?.length),
      realAuthors: loadTofuSplit('real_authors_perturbed'),
      worldFacts: loadTofuSplit('world_facts_perturbed'),
      holdout: forget10.slice(k * TOFU_ROWS_PER_AUTHOR, (k + holdoutAuthors) * TOFU_ROWS_PER_AUTHOR),
    };
    Object.assign(info, { tofuAuthors: sel.tofuAuthors, forgetAuthors: k, holdoutAuthors: Array.from({ length: holdoutAuthors }, (_, i) => TOFU_FIRST_FORGET_AUTHOR + k + i) });
  } else {
    sets = {
      forget: loadTofuSplit(`${sel.forgetSplit}_perturbed`),
      retain: loadTofuSplit('retain_perturbed'),
      realAuthors: loadTofuSplit('real_authors_perturbed'),
      worldFacts: loadTofuSplit('world_facts_perturbed'),
    };
  }
  if (sel.holdout !== undefined) {
    sets.holdout = readQaJsonl(sel.holdout);
    info.holdout = sel.holdout;
  }
  if (sel.limit !== undefined) {
    const cut = (items: QaItem[] | undefined) => items?.slice(0, sel.limit);
    sets = { forget: cut(sets.forget)!, retain: cut(sets.retain)!, realAuthors: cut(sets.realAuthors), worldFacts: cut(sets.worldFacts), holdout: cut(sets.holdout) };
    info.limit = sel.limit;
  }
  if (sets.retain.length === 0) throw new LetheError('TOFU evaluation: no retain items with perturbed answers');
  info.items = { forget: sets.forget.length, retain: sets.retain.length, realAuthors: sets.realAuthors?.length ?? 0, worldFacts: sets.worldFacts?.length ?? 0, holdout: sets.holdout?.length ?? 0 };
  return { sets, info, subset };
}

/** The files of `--benchmark qa`: a user's TOFU-format forget, retain and (optional) holdout sets. */
export interface QaSelection {
  forgetQa: string;
  retainQa: string;
  holdoutQa?: string;
  /** At most this many items per set. */
  limit?: number;
}

/**
 * The sets of a QA evaluation from the user's files (JSON arrays or JSON Lines, TOFU's fields),
 * run through the same evaluateTofu as the built-in benchmark; no real-author or world-fact
 * sets (model utility is over the retain set). Refuses sets that share a question. `info`
 * records the files, the item counts and which items have no perturbed answers (left out of
 * the truth ratio and forget quality).
 */
export function qaSets(sel: QaSelection): { sets: TofuSets; info: Record<string, unknown> } {
  const files = [readQaFile(sel.forgetQa), readQaFile(sel.retainQa), ...(sel.holdoutQa ? [readQaFile(sel.holdoutQa)] : [])];
  const cut = <T>(items: T[]) => (sel.limit === undefined ? items : items.slice(0, sel.limit));
  const [forget, retain, holdout] = files.map((f) => ({ ...f, items: cut(f.items) }));
  assertDisjointQaFiles([forget, retain, ...(holdout ? [holdout] : [])]);
  const without = (f: typeof forget) => f.items.filter((i) => !i.perturbedAnswers?.length).map((i) => i.where);
  const info: Record<string, unknown> = {
    forgetQa: sel.forgetQa,
    retainQa: sel.retainQa,
    ...(sel.holdoutQa ? { holdoutQa: sel.holdoutQa } : {}),
    ...(sel.limit !== undefined ? { limit: sel.limit } : {}),
    items: { forget: forget.items.length, retain: retain.items.length, holdout: holdout?.items.length ?? 0 },
    withoutPerturbed: { forget: without(forget), retain: without(retain) },
  };
  return { sets: { forget: forget.items, retain: retain.items, ...(holdout ? { holdout: holdout.items } : {}) }, info };
}

export interface TofuRunOptions {
  template: PromptTemplate;
  meter: EvalMeter;
  batchSize: number;
  contextLength?: number;
  /** Greedy answers for ROUGE; null skips generation (ROUGE and utility then unavailable). */
  maxNewTokens: number | null;
  retainTruthRatios?: number[] | null;
  referenceScorer?: Scorer;
  /** The GradNorm membership-inference attack (a forward and backward pass per forget and holdout text). */
  gradNorm?: boolean;
  /** Model utility over TOFU's three sets (default) or the sets given (evaluateTofu's utilityOver). */
  utilityOver?: 'tofu' | 'given';
}

/** evaluateTofu on one model, counting what it costs. */
export async function tofuMetrics(model: Model, tokenizer: Tokenizer, sets: TofuSets, opts: TofuRunOptions): Promise<MetricFamilies> {
  const scorer = new CountingScorer(model, tokenizer, { template: opts.template, batchSize: opts.batchSize, contextLength: opts.contextLength }, opts.meter);
  const gradientNorms = opts.gradNorm && sets.holdout?.length ? new GradientNorms(model, tokenizer, { template: opts.template, contextLength: opts.contextLength }) : undefined;
  const generator = opts.maxNewTokens === null ? null : new Generator(model, tokenizer, { batchSize: opts.batchSize, promptSpecialTokens: opts.template.promptSpecialTokens, maxLength: opts.contextLength });
  try {
    const gen = generator ? countingGenerate(generator, opts.template, opts.meter) : null;
    return await evaluateTofu(scorer, sets, {
      template: opts.template,
      generate: gen ? (prompts) => gen(prompts, { maxNewTokens: opts.maxNewTokens! }) : undefined,
      retainTruthRatios: opts.retainTruthRatios ?? null,
      referenceScorer: opts.referenceScorer,
      gradientNorms,
      utilityOver: opts.utilityOver,
    });
  } finally {
    await gradientNorms?.dispose();
    await scorer.dispose();
    await generator?.dispose();
  }
}
