// The MUSE-style evaluation on plain text (`lethe eval --benchmark text`): forget, retain and
// holdout files with one document a line, optional question/answer files.
//  - VerbMem: the first `prefixTokens` tokens of each forget text → greedy `maxNewTokens`
//    tokens → ROUGE-L F1 against the true continuation (its next maxNewTokens tokens); texts
//    without a whole continuation are skipped and counted (MUSE's protocol, eval/metrics/muse.ts).
//    The same on retain texts (verbMemRetain) shows what is kept.
//  - KnowMem: few-shot "Question: …\nAnswer: " prompts (the first `fewShot` items of the file as
//    examples), greedy 32 tokens cut at a blank line or "Question", ROUGE-L F1 vs the answer;
//    a question whose prompt does not fit the context is skipped and counted.
//  - Membership inference: LOSS, ZLib, Min-K%, Min-K%++ (and Reference with a reference model)
//    AUCs of forget texts against holdout texts; PrivLeak from the Min-K% AUCs of this model and
//    of the retain model. Exact Memorization and Extraction Strength on the forget texts.

import { LetheError } from '../engine/errors.ts';
import type { QaItem } from '../data/qa-dataset.ts';
import type { PromptPair } from '../data/templates.ts';
import { exactMemorization, extractionStrength } from '../eval/metrics/memorisation.ts';
import { unavailable, type MetricResult } from '../eval/metrics/metric-result.ts';
import { miaAucs } from '../eval/mia-aucs.ts';
import { KNOWMEM_MAX_NEW_TOKENS, KNOWMEM_STOP, knowMem, planKnowMem, planVerbMem, verbMem } from '../eval/metrics/muse.ts';
import type { Scorer } from '../eval/score.ts';
import { Generator } from '../models/generate.ts';
import { resolveContextLength, type Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { CountingScorer, generateIds, type EvalMeter } from './eval-meter.ts';
import type { MetricFamilies } from './results-file.ts';

export interface TextSets {
  forget: string[];
  retain?: string[];
  holdout?: string[];
  forgetQa?: QaItem[];
  retainQa?: QaItem[];
}

export interface TextRunOptions {
  meter: EvalMeter;
  batchSize: number;
  contextLength?: number;
  /** Tokens of a forget text given as the VerbMem prompt (MUSE: 32). */
  prefixTokens: number;
  /** VerbMem continuation length (MUSE: 128); null skips every generation. */
  maxNewTokens: number | null;
  /** KnowMem examples placed before each question. */
  fewShot: number;
  referenceScorer?: Scorer;
}

/** Raw text is scored as a target with an empty prompt: BOS when the tokenizer adds one, no EOS. */
export const TEXT_TEMPLATE = { promptSpecialTokens: true, appendEos: false } as const;

/** The text cut to at most `maxTokens` tokens (re-encoding a decoded cut can shift a token, so it is checked). */
function truncate(tokenizer: Tokenizer, text: string, maxTokens: number): string {
  let ids = tokenizer.encode(text, { addSpecialTokens: false });
  let out = text;
  for (let limit = maxTokens; ids.length > maxTokens && limit > 0; limit -= 8) {
    out = tokenizer.decode(ids.slice(0, limit), { skipSpecialTokens: true });
    ids = tokenizer.encode(out, { addSpecialTokens: false });
  }
  return out;
}

export async function textMetrics(model: Model, tokenizer: Tokenizer, sets: TextSets, opts: TextRunOptions): Promise<MetricFamilies> {
  const ctx = resolveContextLength(model.config, opts.contextLength);
  const specials = tokenizer.encode('', { addSpecialTokens: true }).length; // BOS, if the tokenizer adds one
  const scorer = new CountingScorer(model, tokenizer, { template: TEXT_TEMPLATE, batchSize: opts.batchSize, contextLength: ctx }, opts.meter);
  const generator = opts.maxNewTokens === null ? null : new Generator(model, tokenizer, { batchSize: opts.batchSize, promptSpecialTokens: true, maxLength: ctx });
  const muse: Record<string, MetricResult> = {};
  const mia: Record<string, MetricResult> = {};
  try {
    // A text needs two tokens (with BOS, one) for anything to be predicted from something.
    const asPairs = (texts: string[]): PromptPair[] =>
      texts.map((t) => ({ prompt: '', target: truncate(tokenizer, t, ctx - specials) })).filter((p) => specials + tokenizer.encode(p.target, { addSpecialTokens: false }).length >= 2);
    const forget = await scorer.score(asPairs(sets.forget));

    // VerbMem on forget (and retain) texts.
    const verbatim = async (texts: string[], what: string): Promise<MetricResult> => {
      if (!generator) return unavailable(`${what} needs generations; this evaluation ran without generating`);
      const budget = Math.min(opts.maxNewTokens!, ctx - specials - opts.prefixTokens);
      if (budget < 1) throw new LetheError(`VerbMem: a prefix of ${opts.prefixTokens} tokens leaves no room in the context of ${ctx} tokens`);
      // MUSE's protocol: only texts with the whole prefix and continuation are scored; the rest are counted.
      const encoded = texts.map((t) => tokenizer.encode(t, { addSpecialTokens: true }));
      const plan = planVerbMem(encoded.map((ids) => ids.slice(specials)), { prefixTokens: opts.prefixTokens, continuationTokens: budget });
      const cases = plan.cases.map((c) => ({ prompt: [...encoded[c.index].slice(0, specials), ...c.promptIds], reference: tokenizer.decode(c.referenceIds, { skipSpecialTokens: true }) }));
      const generations = cases.length ? await generateIds(generator, cases.map((c) => c.prompt), { maxNewTokens: budget }, opts.meter) : [];
      return verbMem(cases.map((c, i) => ({ generation: generations[i], reference: c.reference })), { skipped: plan.skipped });
    };
    muse.verbMem = await verbatim(sets.forget, 'VerbMem');
    if (sets.retain?.length) muse.verbMemRetain = await verbatim(sets.retain, 'VerbMem on retain texts');

    // KnowMem on question/answer files.
    const knowledge = async (items: QaItem[], what: string): Promise<MetricResult> => {
      if (!generator) return unavailable(`${what} needs generations; this evaluation ran without generating`);
      const examples = items.length > opts.fewShot ? items.slice(0, opts.fewShot) : [];
      // MUSE's protocol: the same examples for every question; one that does not fit the context is skipped and counted.
      const plan = planKnowMem(items.slice(examples.length), examples, (p) => tokenizer.encode(p, { addSpecialTokens: true }).length, { contextLength: ctx, maxNewTokens: KNOWMEM_MAX_NEW_TOKENS });
      const prompts = plan.cases.map((c) => tokenizer.encode(c.prompt, { addSpecialTokens: true }));
      const generations = prompts.length ? await generateIds(generator, prompts, { maxNewTokens: KNOWMEM_MAX_NEW_TOKENS, stop: [...KNOWMEM_STOP] }, opts.meter) : [];
      return knowMem(plan.cases.map((c, i) => ({ generation: generations[i].trim(), reference: c.reference })), { skipped: plan.skipped });
    };
    if (sets.forgetQa) muse.knowMemForget = await knowledge(sets.forgetQa, 'KnowMem');
    if (sets.retainQa) muse.knowMemRetain = await knowledge(sets.retainQa, 'KnowMem on the retain set');

    // Membership inference, forget (members) vs holdout.
    if (sets.holdout?.length) {
      Object.assign(mia, await miaAucs(forget, await scorer.score(asPairs(sets.holdout)), { referenceScorer: opts.referenceScorer }));
    } else {
      mia.minKAuc = unavailable('membership inference needs holdout texts the model never saw (--holdout)');
    }
    return { muse, memorisation: { exactMemorization: exactMemorization(forget), extractionStrength: extractionStrength(forget) }, mia };
  } finally {
    await scorer.dispose();
    await generator?.dispose();
  }
}
