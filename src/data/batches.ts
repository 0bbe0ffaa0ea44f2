// Tokenised, fixed-shape batches for causal language-model training and scoring.
//
// Each item is the whole text prompt + target tokenised at once (with the chat template this is
// the rendered conversation, as `apply_chat_template` gives it), then split at the prompt's
// character boundary using each token's character span: the prompt is the leading tokens that
// end at or before the boundary (and what the post-processor puts before the text, BOS); a token
// that straddles the boundary belongs to the target. Tokenising prompt and target separately
// would give the target tokens the model never sees in the whole text (SentencePiece's "▁"
// prefix: `▁ | ▁Par | is` instead of `▁Par | is`). EOS is appended when the template asks.
// P = prompt tokens, L = all tokens.
//
// Convention (causal LM: the logits at position t predict token t+1), for each row:
//   inputIds[t]   = ids[t] for t < L, padId after (right padding);
//   labels[t]     = ids[t+1] for t + 1 < L, else 0;
//   targetMask[t] = 1 exactly when ids[t+1] is a target token (P ≤ t+1 < L), else 0,
// so the masked positions are t = P-1 .. L-2 and there are L - P of them: every target token
// is predicted once (with an empty prompt, P = 0, the first target token has no predictor and
// is not scored). nll = −Σ_t targetMask[t] · log softmax(logits[t])[labels[t]].
// Rows are padded to the smallest length bucket that holds the batch's longest row, so the
// engine compiles one program per bucket.
//
// Every error about an item names its file and 1-based line (PromptPair.source), whatever the
// order of the batches; items without a source are named by their 1-based position as given.
import { LetheError } from '../engine/errors.ts';
import { Rng } from '../engine/random.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import type { ItemSource } from './qa-dataset.ts';
import type { PromptPair } from './templates.ts';

export interface PairEncodeOptions {
  /** Encode the prompt with the tokenizer's special tokens (BOS if it adds one). Default true. */
  promptSpecialTokens?: boolean;
  /** Append the tokenizer's EOS id to the target. Default true. */
  appendEos?: boolean;
}

export interface EncodedPair {
  /** Prompt ids followed by target ids (and EOS). */
  ids: number[];
  /** P: how many of `ids` belong to the prompt. */
  promptLength: number;
  /** The item's position in the pairs given to encodePairs (default: its position in the array batched). */
  index?: number;
  /** Where the item came from, for messages. */
  source?: ItemSource;
}

/**
 * What to do with an item longer than the context: 'error' stops with a LetheError naming its
 * file and line; 'skip' leaves it out; 'truncate' keeps the whole prompt and the first tokens of
 * the target (right truncation, as transformers' truncation="right"), and skips it when not even
 * one target token fits. Training defaults to 'error', evaluation to 'skip'.
 */
export type OverlongPolicy = 'error' | 'skip' | 'truncate';
export const OVERLONG_POLICIES: readonly OverlongPolicy[] = ['error', 'skip', 'truncate'];
/** The default for training and unlearning batches. */
export const TRAINING_OVERLONG: OverlongPolicy = 'error';
/** The default for evaluation items (one long item must not abort the whole evaluation). */
export const EVALUATION_OVERLONG: OverlongPolicy = 'skip';

/** An item that did not fit the context. */
export interface OverlongItem {
  /** Its position in the pairs given (0-based). */
  index: number;
  /** "file:line", or "item N" (1-based) when the pair has no source. */
  where: string;
  source?: ItemSource;
  /** Its length in tokens (prompt + target + EOS) before truncation. */
  tokens: number;
  /** The context length it exceeded. */
  contextLength: number;
}

/** The overlong items of one call: what the caller writes to results.json. */
export interface OverlongReport {
  policy: OverlongPolicy;
  skipped: OverlongItem[];
  truncated: OverlongItem[];
}

export interface EncodeItemsOptions extends PairEncodeOptions {
  /** The model's context size; without it no length is checked. */
  contextLength?: number;
  /** Default 'error'. */
  overlong?: OverlongPolicy;
  /** What the 'error' message offers in its parentheses; default the policies (`overlong items: error, skip or truncate`). */
  overlongRemedy?: string;
}

/** The remedy of a caller that has no overlong policy to offer (fine-tuning keeps every item whole). */
export const WHOLE_ITEMS_REMEDY = 'fine-tuning keeps every item whole: a longer --context-length, up to the model\'s maximum, or a shorter item';

export interface BatchOptions extends PairEncodeOptions {
  /** Rows per batch (the last batch may have fewer, unless fillLastBatch). */
  batchSize: number;
  /** The model's context size: what happens to an item longer than this is `overlong`. */
  contextLength: number;
  /** Default 'error' (TRAINING_OVERLONG); evaluation passes 'skip' (EVALUATION_OVERLONG). */
  overlong?: OverlongPolicy;
  /** As EncodeItemsOptions.overlongRemedy. */
  overlongRemedy?: string;
  /** Sequence lengths to pad to, ascending. Default lengthBuckets(contextLength). */
  buckets?: number[];
  /** 'given': input order; 'shuffle': seeded shuffle; 'length': by length, shortest first (least padding). Default 'given'. */
  order?: 'given' | 'shuffle' | 'length';
  /** Seed of the 'shuffle' order. Default 0. */
  seed?: number;
  /** Pad the last batch to batchSize with empty rows (length 0, index -1, mask 0). Default false. */
  fillLastBatch?: boolean;
}

export interface Batch {
  /** B rows. */
  batchSize: number;
  /** T: the bucket length every row is padded to. */
  seqLength: number;
  /** (B, T) int64 token ids, right-padded with the pad id. */
  inputIds: BigInt64Array;
  /** (B, T) int64: labels[t] = the id at t+1, 0 where there is none. */
  labels: BigInt64Array;
  /** (B, T) 1 where labels[t] is a target token, else 0. */
  targetMask: Float32Array;
  /** (B) L: real tokens per row (0 for fill rows). */
  lengths: Int32Array;
  /** (B) P: prompt tokens per row. */
  promptLengths: Int32Array;
  /** (B) index of the row's item in the input pairs (-1 for fill rows). */
  indices: Int32Array;
}

/** Batches and what did not fit. */
export interface BatchSet {
  batches: Batch[];
  overlong: OverlongReport;
}

/** Powers of two from `smallest` below contextLength, then contextLength itself. */
export function lengthBuckets(contextLength: number, smallest = 16): number[] {
  if (!Number.isInteger(contextLength) || contextLength < 1) {
    throw new LetheError(`contextLength must be a positive integer, got ${contextLength}`);
  }
  const buckets: number[] = [];
  for (let b = smallest; b < contextLength; b *= 2) buckets.push(b);
  buckets.push(contextLength);
  return buckets;
}

/** The smallest bucket ≥ length. */
export function bucketFor(length: number, buckets: readonly number[]): number {
  const bucket = buckets.find((b) => b >= length);
  if (bucket === undefined) throw new LetheError(`no length bucket holds ${length} tokens (largest ${buckets[buckets.length - 1]})`);
  return bucket;
}

/** "file:line" of an item, or "item N" (1-based position as given) without a source. */
export function itemWhere(source: ItemSource | undefined, index: number): string {
  return source ? `${source.file}:${source.line}` : `item ${index + 1}`;
}

/**
 * The text generation starts from for a prompt that training and scoring split off a whole
 * text: the prompt without its trailing spaces and tabs. In the whole-text encoding the space
 * before an answer belongs to the answer's first token ("Answer:" | "ĠParis", ":" | "▁Paris"),
 * so the prompt encoded alone with its space would end in a lone space token that the model
 * never saw before an answer (its completions then go astray). Generation from the trimmed
 * prompt produces that space itself; `trimCompletion` takes it off the completion again. (When
 * the vocabulary has no token joining the space to the answer's first character, e.g. "Émile"
 * in GPT-2's, training kept the lone space in the prompt and the model generates it here.)
 */
export function generationPrompt(prompt: string): string {
  return prompt.replace(/[ \t]+$/u, '');
}

/** A completion of generationPrompt(prompt) without the leading spaces the trimmed prompt left to it. */
export function trimCompletion(prompt: string, completion: string): string {
  return prompt === generationPrompt(prompt) ? completion : completion.replace(/^[ \t]+/u, '');
}

/**
 * Encodes one (prompt, target) pair as described at the top of the file: ids of the whole text
 * prompt + target (with the tokenizer's special tokens when promptSpecialTokens), EOS appended
 * when appendEos, and P = the prompt's tokens. `index` names the item in errors when the pair
 * has no source. A LetheError when the target has no token of its own.
 */
export function encodePair(tokenizer: Tokenizer, pair: PromptPair, options: PairEncodeOptions = {}, index = 0): EncodedPair {
  const where = itemWhere(pair.source, index);
  const appendEos = options.appendEos ?? true;
  if (appendEos && tokenizer.eosId === undefined) {
    throw new LetheError(`${tokenizer.source}: the tokenizer has no eos_token, so EOS cannot be appended (set appendEos to false)`);
  }
  const boundary = pair.prompt.length;
  let encoding;
  try {
    encoding = tokenizer.encodeWithOffsets(pair.prompt + pair.target, { addSpecialTokens: options.promptSpecialTokens ?? true });
  } catch (err) {
    if (err instanceof LetheError) throw new LetheError(`${where}: ${err.message}`);
    throw err;
  }
  const { ids, offsets, specialPrefix } = encoding;
  let promptLength = 0;
  while (promptLength < ids.length && (promptLength < specialPrefix || (offsets[promptLength][1] <= boundary && offsets[promptLength][0] < boundary))) {
    promptLength++;
  }
  if (appendEos) ids.push(tokenizer.eosId!);
  if (promptLength === ids.length) throw new LetheError(`${where}: the target has no tokens`);
  const encoded: EncodedPair = { ids, promptLength, index };
  if (pair.source) encoded.source = pair.source;
  return encoded;
}

function checkPolicy(policy: OverlongPolicy): void {
  if (!OVERLONG_POLICIES.includes(policy)) {
    throw new LetheError(`unknown overlong policy "${String(policy)}" (known: ${OVERLONG_POLICIES.join(', ')})`);
  }
}

/** The record of an item longer than `limit`; under the 'error' policy, the LetheError naming its file and line. */
function overlongItem(pair: PromptPair, index: number, item: EncodedPair, limit: number, policy: OverlongPolicy, remedy = 'overlong items: error, skip or truncate'): OverlongItem {
  const where = itemWhere(pair.source, index);
  if (policy === 'error') {
    throw new LetheError(`${where}: ${item.ids.length} tokens (prompt ${item.promptLength} + target ${item.ids.length - item.promptLength}) exceed the context length ${limit} (${remedy})`);
  }
  const over: OverlongItem = { index, where, tokens: item.ids.length, contextLength: limit };
  if (pair.source) over.source = pair.source;
  return over;
}

/**
 * Encodes (prompt, target) pairs (see encodePair) and applies the overlong policy when
 * `contextLength` is given. Returns the items kept, each with its input `index`, and the report
 * of skipped and truncated items (file:line of each).
 */
export function encodeItems(tokenizer: Tokenizer, pairs: readonly PromptPair[], options: EncodeItemsOptions = {}): { encoded: EncodedPair[]; overlong: OverlongReport } {
  if (pairs.length === 0) throw new LetheError('cannot tokenise an empty set of items');
  const policy = options.overlong ?? TRAINING_OVERLONG;
  checkPolicy(policy);
  const report: OverlongReport = { policy, skipped: [], truncated: [] };
  const encoded: EncodedPair[] = [];
  const limit = options.contextLength;
  pairs.forEach((pair, index) => {
    const item = encodePair(tokenizer, pair, options, index);
    if (limit === undefined || item.ids.length <= limit) {
      encoded.push(item);
      return;
    }
    const over = overlongItem(pair, index, item, limit, policy, options.overlongRemedy);
    if (policy === 'truncate' && item.promptLength < limit) {
      item.ids = item.ids.slice(0, limit);
      report.truncated.push(over);
      encoded.push(item);
    } else report.skipped.push(over);
  });
  if (encoded.length === 0) {
    throw new LetheError(`all ${pairs.length} items exceed the context length ${limit} (first: ${report.skipped[0]?.where})`);
  }
  return { encoded, overlong: report };
}

/** Encodes (prompt, target) pairs; `contextLength`, when given, bounds each item (an error beyond it). */
export function encodePairs(
  tokenizer: Tokenizer,
  pairs: readonly PromptPair[],
  options: PairEncodeOptions & { contextLength?: number } = {},
): EncodedPair[] {
  return encodeItems(tokenizer, pairs, { ...options, overlong: 'error' }).encoded;
}

/** Evaluation items that fit the context, and what was done with the others. */
export interface PreparedPairs {
  /** The pairs to score (a truncated one has its target text cut), in input order. */
  pairs: PromptPair[];
  /** indices[k]: the position of pairs[k] in the pairs given. */
  indices: number[];
  overlong: OverlongReport;
}

/**
 * Evaluation item preparation: applies `overlong` (default 'skip', EVALUATION_OVERLONG) before
 * scoring, so one long item does not abort the evaluation. 'truncate' cuts the target text after
 * the last token that fits (with EOS, when the template appends it, after the cut), checked by
 * encoding the cut pair again; an item whose prompt leaves no room for a target token is skipped.
 * Unlike buildBatches this returns pairs, for scorers that take pairs.
 */
export function prepareEvalPairs(
  tokenizer: Tokenizer,
  pairs: readonly PromptPair[],
  options: PairEncodeOptions & { contextLength: number; overlong?: OverlongPolicy },
): PreparedPairs {
  const policy = options.overlong ?? EVALUATION_OVERLONG;
  checkPolicy(policy);
  const limit = options.contextLength;
  const eos = (options.appendEos ?? true) ? 1 : 0;
  const out: PreparedPairs = { pairs: [], indices: [], overlong: { policy, skipped: [], truncated: [] } };
  pairs.forEach((pair, index) => {
    const item = encodePair(tokenizer, pair, options, index);
    if (item.ids.length <= limit) {
      out.pairs.push(pair);
      out.indices.push(index);
      return;
    }
    const over = overlongItem(pair, index, item, limit, policy);
    if (policy === 'truncate') {
      const { offsets } = tokenizer.encodeWithOffsets(pair.prompt + pair.target, { addSpecialTokens: options.promptSpecialTokens ?? true });
      // Keep tokens until the whole, cut and encoded again, fits (a cut can change the last token).
      for (let keep = limit - eos; keep > item.promptLength; keep--) {
        const cut = offsets[keep - 1][1] - pair.prompt.length;
        if (cut <= 0) break;
        const shorter = { ...pair, target: pair.target.slice(0, cut) };
        const again = encodePair(tokenizer, shorter, options, index);
        if (again.ids.length <= limit && again.promptLength < again.ids.length) {
          out.pairs.push(shorter);
          out.indices.push(index);
          out.overlong.truncated.push(over);
          return;
        }
      }
    }
    out.overlong.skipped.push(over);
  });
  return out;
}

function checkBuckets(buckets: readonly number[], contextLength: number): void {
  const ascending = buckets.every((b, i) => Number.isInteger(b) && b > 0 && (i === 0 || b > buckets[i - 1]));
  if (buckets.length === 0 || !ascending) {
    throw new LetheError(`buckets must be ascending positive integers, got ${JSON.stringify(buckets)}`);
  }
  if (buckets[buckets.length - 1] < contextLength) {
    throw new LetheError(`the largest bucket (${buckets[buckets.length - 1]}) must be at least the context length ${contextLength}`);
  }
}

/** Lays encoded items out as fixed-shape batches (see the convention at the top of the file). */
export function batchEncoded(encoded: readonly EncodedPair[], padId: number, options: BatchOptions): Batch[] {
  const { batchSize, contextLength } = options;
  if (encoded.length === 0) throw new LetheError('cannot batch an empty set of items');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new LetheError(`batchSize must be a positive integer, got ${batchSize}`);
  const buckets = options.buckets ?? lengthBuckets(contextLength);
  checkBuckets(buckets, contextLength);
  encoded.forEach((item, position) => {
    if (item.ids.length > contextLength) {
      throw new LetheError(`${itemWhere(item.source, item.index ?? position)}: ${item.ids.length} tokens exceed the context length ${contextLength}`);
    }
  });

  const order = options.order ?? 'given';
  let indices = encoded.map((_, i) => i);
  if (order === 'shuffle') indices = new Rng(options.seed ?? 0).permutation(encoded.length);
  else if (order === 'length') indices.sort((a, b) => encoded[a].ids.length - encoded[b].ids.length || a - b);
  else if (order !== 'given') throw new LetheError(`unknown batch order "${String(order)}" (known: given, shuffle, length)`);

  const batches: Batch[] = [];
  for (let start = 0; start < indices.length; start += batchSize) {
    const rows = indices.slice(start, start + batchSize);
    const B = options.fillLastBatch ? batchSize : rows.length;
    const T = bucketFor(Math.max(...rows.map((i) => encoded[i].ids.length)), buckets);
    const batch: Batch = {
      batchSize: B,
      seqLength: T,
      inputIds: new BigInt64Array(B * T).fill(BigInt(padId)),
      labels: new BigInt64Array(B * T),
      targetMask: new Float32Array(B * T),
      lengths: new Int32Array(B),
      promptLengths: new Int32Array(B),
      indices: new Int32Array(B).fill(-1),
    };
    rows.forEach((itemIndex, b) => {
      const { ids, promptLength } = encoded[itemIndex];
      const L = ids.length;
      const row = b * T;
      for (let t = 0; t < L; t++) batch.inputIds[row + t] = BigInt(ids[t]);
      for (let t = 0; t + 1 < L; t++) {
        batch.labels[row + t] = BigInt(ids[t + 1]);
        if (t + 1 >= promptLength) batch.targetMask[row + t] = 1;
      }
      batch.lengths[b] = L;
      batch.promptLengths[b] = promptLength;
      batch.indices[b] = encoded[itemIndex].index ?? itemIndex;
    });
    batches.push(batch);
  }
  return batches;
}

/**
 * Tokenises (prompt, target) pairs and lays them out as batches, applying `overlong` (default
 * 'error'); the report lists the skipped and truncated items with their file:line. The pad id
 * is the tokenizer's pad token, else its EOS, else 0 (padded positions are never scored).
 * Batch.indices index `pairs`, so a skipped item is simply absent from every batch.
 */
export function buildBatches(tokenizer: Tokenizer, pairs: readonly PromptPair[], options: BatchOptions): BatchSet {
  const { encoded, overlong } = encodeItems(tokenizer, pairs, options);
  return { batches: batchEncoded(encoded, tokenizer.padId ?? tokenizer.eosId ?? 0, options), overlong };
}

/** buildBatches without the report (with 'skip' or 'truncate', use buildBatches to record the counts). */
export function makeBatches(tokenizer: Tokenizer, pairs: readonly PromptPair[], options: BatchOptions): Batch[] {
  return buildBatches(tokenizer, pairs, options).batches;
}
