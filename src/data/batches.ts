// Tokenised, fixed-shape batches for causal language-model training and scoring.
//
// Each item is ids = encode(prompt) ++ encode(target) (++ EOS): the two parts are encoded
// separately so the boundary is exact (encoding the joined text could merge the prompt's last
// characters with the answer's first into one token). P = prompt tokens, L = all tokens.
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
import { LetheError } from '../engine/errors.ts';
import { Rng } from '../engine/random.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
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
}

export interface BatchOptions extends PairEncodeOptions {
  /** Rows per batch (the last batch may have fewer, unless fillLastBatch). */
  batchSize: number;
  /** The model's context size: an item longer than this is an error. */
  contextLength: number;
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

/** Encodes (prompt, target) pairs; `contextLength`, when given, bounds each item. */
export function encodePairs(
  tokenizer: Tokenizer,
  pairs: readonly PromptPair[],
  options: PairEncodeOptions & { contextLength?: number } = {},
): EncodedPair[] {
  if (pairs.length === 0) throw new LetheError('cannot tokenise an empty set of items');
  const appendEos = options.appendEos ?? true;
  if (appendEos && tokenizer.eosId === undefined) {
    throw new LetheError(`${tokenizer.source}: the tokenizer has no eos_token, so EOS cannot be appended (set appendEos to false)`);
  }
  return pairs.map((pair, index) => {
    const prompt = tokenizer.encode(pair.prompt, { addSpecialTokens: options.promptSpecialTokens ?? true });
    const target = tokenizer.encode(pair.target, { addSpecialTokens: false });
    if (appendEos) target.push(tokenizer.eosId!);
    if (target.length === 0) throw new LetheError(`item ${index}: the target has no tokens`);
    const length = prompt.length + target.length;
    if (options.contextLength !== undefined && length > options.contextLength) {
      throw new LetheError(
        `item ${index}: ${length} tokens (prompt ${prompt.length} + target ${target.length}) exceed the context length ${options.contextLength}`,
      );
    }
    return { ids: [...prompt, ...target], promptLength: prompt.length };
  });
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
  encoded.forEach((item, index) => {
    if (item.ids.length > contextLength) {
      throw new LetheError(`item ${index}: ${item.ids.length} tokens exceed the context length ${contextLength}`);
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
      batch.indices[b] = itemIndex;
    });
    batches.push(batch);
  }
  return batches;
}

/**
 * Tokenises (prompt, target) pairs and lays them out as batches. The pad id is the
 * tokenizer's pad token, else its EOS, else 0 (padded positions are never scored).
 */
export function makeBatches(tokenizer: Tokenizer, pairs: readonly PromptPair[], options: BatchOptions): Batch[] {
  const encoded = encodePairs(tokenizer, pairs, options);
  return batchEncoded(encoded, tokenizer.padId ?? tokenizer.eosId ?? 0, options);
}
