/**
 * MUSE's memorisation metrics (Shi et al. 2024) and the protocol that decides what is scored,
 * as MUSE's evaluation code (muse-bench `metrics/verbmem.py`, `metrics/knowmem.py`,
 * `metrics/logger.py`) runs them. Scores are rouge_score's ROUGE-L F1 with
 * `use_stemmer=False`, averaged over items; MUSE reports ×100, these return the fraction in
 * [0, 1] and take `stem` as an option (default false, as MUSE).
 *
 * VerbMem (verbatim memorisation of the forget texts):
 *  - MUSE's verbatim set is pre-split into a prompt and a ground-truth continuation; its code
 *    greedily generates 128 new tokens and truncates the ground truth to 128 tokens. Here a
 *    forget text is split the way REFERENCE.md gives it: the first 32 tokens are the prompt
 *    (after the tokenizer's BOS), the next 128 the reference.
 *  - A text must hold the prefix AND a full continuation (as every MUSE item does); a shorter one
 *    is not scored but skipped and counted (`planVerbMem`). Scoring a 1-token continuation
 *    measures nothing: one lucky token is ROUGE 1. `minContinuationTokens` may lower the bar.
 *  - MUSE's truncation encodes the ground truth with special tokens, so for Llama (BOS) its
 *    reference holds 127 text tokens; here it is 128 text tokens.
 *  - MUSE's released verbatim items are not all 32-token prompts (some prompts are whole
 *    passages); `planVerbMemPresplit` takes such (prompt, ground truth) items as they are.
 *
 * KnowMem (knowledge of the forget set; on the retain set, utility):
 *  - prompt: for each in-context example `Question: q\nAnswer: a\n\n`, then
 *    `Question: q\nAnswer: ` — MUSE's code ends with a space after "Answer:" (an option here);
 *  - greedy 32 new tokens, cut before the first "\n\n", "\nQuestion" or "Question:"
 *    (`KNOWMEM_STOP`), ROUGE-L F1 against the answer;
 *  - every question gets the same examples (MUSE has no fallback); a question whose prompt and
 *    32 new tokens do not fit the context is skipped and counted, and so is an answer with no
 *    word ROUGE can match (its F1 is 0 whatever the model says).
 */
import { LetheError } from '../../engine/errors.ts';
import { rougeL, rougeTokenize } from '../stats/rouge.ts';
import { meanResult, withSkipped, type MetricOptions, type MetricResult, type Skipped } from './metric-result.ts';

/** VerbMem prompt: tokens of the forget text given to the model (REFERENCE.md, MUSE). */
export const VERBMEM_PREFIX_TOKENS = 32;
/** VerbMem continuation: greedy new tokens and reference length (MUSE's `max_new_tokens`). */
export const VERBMEM_CONTINUATION_TOKENS = 128;
/** KnowMem: greedy new tokens per answer (MUSE's `knowmem_max_new_tokens`). */
export const KNOWMEM_MAX_NEW_TOKENS = 32;
/** KnowMem: an answer is cut before the first of these (MUSE's `get_prefix_before_words_occur`). */
export const KNOWMEM_STOP: readonly string[] = ['\n\n', '\nQuestion', 'Question:'];

export interface GenerationPair {
  generation: string;
  reference: string;
}

/** Items a protocol left out, with their indices in the input. */
export interface SkippedItems extends Skipped {
  indices: number[];
}

export interface VerbMemOptions {
  prefixTokens?: number;
  continuationTokens?: number;
  /** Shortest continuation scored; default the full `continuationTokens`, as MUSE's data. */
  minContinuationTokens?: number;
  /** The model's context, with `specialTokens` (BOS) the tokenizer puts before the prompt: prefix + specials + continuation must fit. */
  contextLength?: number;
  specialTokens?: number;
}

export interface VerbMemCase {
  /** Index of the text in the input. */
  index: number;
  /** The first `prefixTokens` token ids of the text (no special tokens: the caller adds its BOS). */
  promptIds: number[];
  /** The next (at most `continuationTokens`) ids: the reference, to decode without special tokens. */
  referenceIds: number[];
}

/**
 * VerbMem's cases from forget texts given as token ids without special tokens: texts with at
 * least prefix + minContinuation tokens become (prompt, reference) cases; the rest are skipped
 * and counted. Throws LetheError when the prompt and continuation cannot fit the context at all
 * (a setting problem, not an item's).
 */
export function planVerbMem(texts: ReadonlyArray<ArrayLike<number>>, options: VerbMemOptions = {}): { cases: VerbMemCase[]; skipped: SkippedItems } {
  const prefix = options.prefixTokens ?? VERBMEM_PREFIX_TOKENS;
  const continuation = options.continuationTokens ?? VERBMEM_CONTINUATION_TOKENS;
  const minContinuation = options.minContinuationTokens ?? continuation;
  if (!Number.isInteger(prefix) || prefix < 1) throw new LetheError(`VerbMem: prefix of ${prefix} tokens; expected an integer ≥ 1`);
  if (!Number.isInteger(continuation) || continuation < 1) throw new LetheError(`VerbMem: continuation of ${continuation} tokens; expected an integer ≥ 1`);
  if (!Number.isInteger(minContinuation) || minContinuation < 1 || minContinuation > continuation) {
    throw new LetheError(`VerbMem: shortest continuation of ${minContinuation} tokens; expected an integer from 1 to ${continuation}`);
  }
  if (options.contextLength !== undefined) {
    const need = (options.specialTokens ?? 0) + prefix + continuation;
    if (need > options.contextLength) {
      throw new LetheError(`VerbMem: a ${prefix}-token prompt${options.specialTokens ? ` (plus ${options.specialTokens} special)` : ''} and a ${continuation}-token continuation need ${need} tokens; the context holds ${options.contextLength}`);
    }
  }
  const cases: VerbMemCase[] = [];
  const indices: number[] = [];
  texts.forEach((ids, index) => {
    if (ids.length < prefix + minContinuation) {
      indices.push(index);
      return;
    }
    const all = Array.from(ids);
    cases.push({ index, promptIds: all.slice(0, prefix), referenceIds: all.slice(prefix, prefix + continuation) });
  });
  const need = minContinuation === continuation ? `${prefix} + ${continuation}` : `${prefix} + at least ${minContinuation}`;
  return {
    cases,
    skipped: { count: indices.length, indices, reason: `${indices.length} of ${texts.length} texts are shorter than the ${need} tokens of VerbMem's prompt and continuation` },
  };
}

/**
 * VerbMem's cases from MUSE's own pre-split items (its verbatim set's `prompt` and `gt`), given
 * as token ids without special tokens: the whole prompt is given to the model and the ground
 * truth is truncated to `continuationTokens`, as MUSE's code does; a ground truth shorter than
 * `minContinuationTokens` (default the full length) is skipped and counted.
 */
export function planVerbMemPresplit(
  items: ReadonlyArray<{ prompt: ArrayLike<number>; continuation: ArrayLike<number> }>,
  options: Omit<VerbMemOptions, 'prefixTokens'> = {},
): { cases: VerbMemCase[]; skipped: SkippedItems } {
  const continuation = options.continuationTokens ?? VERBMEM_CONTINUATION_TOKENS;
  const minContinuation = options.minContinuationTokens ?? continuation;
  if (!Number.isInteger(continuation) || continuation < 1) throw new LetheError(`VerbMem: continuation of ${continuation} tokens; expected an integer ≥ 1`);
  if (!Number.isInteger(minContinuation) || minContinuation < 1 || minContinuation > continuation) {
    throw new LetheError(`VerbMem: shortest continuation of ${minContinuation} tokens; expected an integer from 1 to ${continuation}`);
  }
  const cases: VerbMemCase[] = [];
  const indices: number[] = [];
  let empty = 0, short = 0, overlong = 0;
  items.forEach((item, index) => {
    const need = (options.specialTokens ?? 0) + item.prompt.length + continuation;
    if (item.prompt.length === 0) empty++;
    else if (item.continuation.length < minContinuation) short++;
    else if (options.contextLength !== undefined && need > options.contextLength) overlong++;
    else {
      cases.push({ index, promptIds: Array.from(item.prompt), referenceIds: Array.from(item.continuation).slice(0, continuation) });
      return;
    }
    indices.push(index);
  });
  const reasons = [
    ...(empty ? [`${empty} of ${items.length} items have an empty prompt`] : []),
    ...(short ? [`${short} of ${items.length} ground truths are shorter than ${minContinuation} tokens`] : []),
    ...(overlong ? [`${overlong} of ${items.length} prompts and a ${continuation}-token continuation do not fit the ${options.contextLength}-token context`] : []),
  ];
  return { cases, skipped: { count: indices.length, indices, reason: reasons.join('; ') || 'none' } };
}

export interface KnowMemOptions {
  contextLength?: number;
  maxNewTokens?: number;
  /** End the prompt with "Answer: " as MUSE's code does (default true), or "Answer:". */
  trailingSpace?: boolean;
}

export interface QaPair {
  question: string;
  answer: string;
}

/** MUSE's KnowMem prompt: the examples as solved questions, then the question. */
export function knowMemPrompt(examples: readonly QaPair[], question: string, trailingSpace = true): string {
  let prompt = '';
  for (const e of examples) prompt += `Question: ${e.question}\nAnswer: ${e.answer}\n\n`;
  return `${prompt}Question: ${question}\nAnswer:${trailingSpace ? ' ' : ''}`;
}

export interface KnowMemCase {
  index: number;
  prompt: string;
  reference: string;
}

/**
 * KnowMem's cases: every item with the same in-context examples. `promptTokens(prompt)` is the
 * prompt's length in tokens as the generator will encode it (with its special tokens). Items
 * whose prompt + `maxNewTokens` exceed `contextLength`, or whose answer has no word, are skipped
 * and counted.
 */
export function planKnowMem(
  items: readonly QaPair[],
  examples: readonly QaPair[],
  promptTokens: (prompt: string) => number,
  options: KnowMemOptions = {},
): { cases: KnowMemCase[]; skipped: SkippedItems } {
  const budget = options.maxNewTokens ?? KNOWMEM_MAX_NEW_TOKENS;
  const cases: KnowMemCase[] = [];
  const indices: number[] = [];
  let tooLong = 0, noWords = 0;
  items.forEach((item, index) => {
    if (rougeTokenize(item.answer).length === 0) {
      noWords++;
      indices.push(index);
      return;
    }
    const prompt = knowMemPrompt(examples, item.question, options.trailingSpace ?? true);
    if (options.contextLength !== undefined && promptTokens(prompt) + budget > options.contextLength) {
      tooLong++;
      indices.push(index);
      return;
    }
    cases.push({ index, prompt, reference: item.answer });
  });
  const reasons = [
    ...(tooLong ? [`${tooLong} of ${items.length} questions do not fit the ${options.contextLength}-token context with ${examples.length} examples and ${budget} new tokens`] : []),
    ...(noWords ? [`${noWords} of ${items.length} answers have no word for ROUGE to match`] : []),
  ];
  return { cases, skipped: { count: indices.length, indices, reason: reasons.join('; ') || 'none' } };
}

export interface MuseMetricOptions extends MetricOptions {
  stem?: boolean;
  /** Items the protocol skipped (`planVerbMem` / `planKnowMem`), carried on the result. */
  skipped?: Skipped;
}

function meanRougeF1(pairs: readonly GenerationPair[], what: string, options: MuseMetricOptions): MetricResult {
  const stem = options.stem ?? false;
  const result = meanResult(pairs.map((p) => rougeL(p.reference, p.generation, { stem }).f1), what, options);
  return withSkipped(result, options.skipped && { count: options.skipped.count, reason: options.skipped.reason });
}

/** VerbMem: mean ROUGE-L F1 of each generated continuation against the true one; n the scored texts. */
export function verbMem(pairs: readonly GenerationPair[], options: MuseMetricOptions = {}): MetricResult {
  return meanRougeF1(pairs, 'VerbMem', options);
}

/** KnowMem: mean ROUGE-L F1 of each (cut) generated answer against the answer; n the scored questions. */
export function knowMem(pairs: readonly GenerationPair[], options: MuseMetricOptions = {}): MetricResult {
  return meanRougeF1(pairs, 'KnowMem', options);
}
