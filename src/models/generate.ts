// Text generation with a static KV cache (decode-programs.ts): prompts are encoded, sorted by
// length and run B at a time, left-padded to a bucket of T slots; one prefill fills the caches,
// then one decode step per token writes slot p = T, T+1, ... Each row has its own position
// (p minus its padding) and stops on EOS, a stop string or its token budget; finished rows keep
// running harmlessly until the whole batch is done. Per step the host writes B ids and
// positions, opens one mask column, stores the step's keys and values into their slot
// (decode-buffers.ts) and picks B tokens from the logits [B, V]: O(B·V) work, no recompilation.
//
//   const gen = new Generator(model, tokenizer, { batchSize: 8 });
//   const completions = await gen.generate(['Question: ...\nAnswer:'], { maxNewTokens: 32, stop: ['\n\n'] });
//   await gen.dispose();
//
// A row's budget is min(maxNewTokens, maxLength − prompt length): positions never pass the
// context. Greedy decoding (the default) is what evaluation uses.

import { LetheError } from '../engine/errors.ts';
import { Rng } from '../engine/random.ts';
import { DecodeBuffers } from './decode-buffers.ts';
import { DecodePrograms, type CacheWrite } from './decode-programs.ts';
import { TokenSampler } from './decode-sampler.ts';
import type { Model } from './model.ts';
import type { Tokenizer } from './tokenizer/tokenizer.ts';

export interface GenerateOptions {
  /** New tokens at most per prompt (EOS and stop strings end a completion earlier). Default 128. */
  maxNewTokens?: number;
  /** Softmax temperature; 0 picks the most likely token (greedy, what evaluation uses). Default 0. */
  temperature?: number;
  /** Sample among the k most likely tokens only (HF top_k). Default all. */
  topK?: number;
  /** Nucleus sampling: drop the least likely tokens holding 1 − p of the mass (HF top_p). Default 1. */
  topP?: number;
  /** A completion ends before the first occurrence of any of these strings. Default none. */
  stop?: string[];
  /** Seed of the sampling; prompt i draws from its own stream, so batching does not change it. Default 0. */
  seed?: number;
  /** Encode prompts with the tokenizer's special tokens (BOS for Llama-style tokenizers). Default true. */
  addSpecialTokens?: boolean;
  /** Drop special tokens from the completions (HF evaluation's skip_special_tokens). Default true. */
  skipSpecialTokens?: boolean;
}

export interface GeneratorOptions {
  /** Prompts decoded together (B); more are run in batches of this size. Default 8. */
  batchSize?: number;
  /** Longest prompt + completion in tokens. Default (and at most) the model's context, config.maxPositions. */
  maxLength?: number;
  /** Default of GenerateOptions.addSpecialTokens for this generator's calls (a template's promptSpecialTokens). Default true. */
  promptSpecialTokens?: boolean;
  /** How a decode step stores its keys and values (see decode-programs.ts). Default 'host'. */
  cacheWrite?: CacheWrite;
}

type Resolved = Required<Omit<GenerateOptions, 'topK'>> & { topK: number | null };

function resolve(opts: GenerateOptions, promptSpecialTokens: boolean): Resolved {
  const r: Resolved = {
    maxNewTokens: opts.maxNewTokens ?? 128,
    temperature: opts.temperature ?? 0,
    topK: opts.topK ?? null,
    topP: opts.topP ?? 1,
    stop: opts.stop ?? [],
    seed: opts.seed ?? 0,
    addSpecialTokens: opts.addSpecialTokens ?? promptSpecialTokens,
    skipSpecialTokens: opts.skipSpecialTokens ?? true,
  };
  const bad = (what: string, got: unknown): never => {
    throw new LetheError(`generate: ${what}, got ${JSON.stringify(got)}`);
  };
  if (!Number.isInteger(r.maxNewTokens) || r.maxNewTokens < 0) bad('maxNewTokens must be an integer ≥ 0', r.maxNewTokens);
  if (!(r.temperature >= 0) || !Number.isFinite(r.temperature)) bad('temperature must be a number ≥ 0', r.temperature);
  if (r.topK !== null && (!Number.isInteger(r.topK) || r.topK < 1)) bad('topK must be an integer ≥ 1', r.topK);
  if (!(r.topP > 0 && r.topP <= 1)) bad('topP must be in (0, 1]', r.topP);
  if (!Number.isInteger(r.seed)) bad('seed must be an integer', r.seed);
  if (r.stop.some((s) => typeof s !== 'string' || s === '')) bad('stop strings must be non-empty strings', r.stop);
  return r;
}

/** Smallest power of two ≥ n (and ≥ 16): the few shapes programs are compiled for. */
export function lengthBucket(n: number): number {
  let b = 16;
  while (b < n) b *= 2;
  return b;
}

/** Cut `text` before the first occurrence of any stop string. */
export function cutAtStop(text: string, stop: readonly string[]): string {
  let end = text.length;
  for (const s of stop) {
    const i = text.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return text.slice(0, end);
}

/** Generation for one model and tokenizer, keeping its compiled programs and buffers across calls. */
export class Generator {
  readonly batchSize: number;
  readonly maxLength: number;
  private readonly programs: DecodePrograms;
  private readonly eosIds: Set<number>;
  private readonly padId: number;
  private readonly promptSpecialTokens: boolean;
  private buffers: DecodeBuffers | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly model: Model, readonly tokenizer: Tokenizer, opts: GeneratorOptions = {}) {
    const { config } = model;
    this.batchSize = opts.batchSize ?? 8;
    this.maxLength = opts.maxLength ?? config.maxPositions;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new LetheError(`generate: batchSize must be an integer ≥ 1, got ${this.batchSize}`);
    if (!Number.isInteger(this.maxLength) || this.maxLength < 2 || this.maxLength > config.maxPositions) {
      throw new LetheError(`generate: maxLength must be an integer in [2, ${config.maxPositions}] (the model's context), got ${this.maxLength}`);
    }
    this.promptSpecialTokens = opts.promptSpecialTokens ?? true;
    this.programs = new DecodePrograms(model, opts.cacheWrite, this.maxLength);
    // Every end: the tokenizer's EOS, config.json's eos_token_id(s) and generation_config.json's (Llama 3's <|eot_id|>).
    this.eosIds = new Set([tokenizer.eosId, config.eosTokenId, model.source?.generationEos ?? []].flat().filter((id): id is number => typeof id === 'number'));
    this.padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  }

  /** The decode program (its `compiledBuckets` counts one per (B, L) bucket). */
  get decodeProgram(): DecodePrograms['decode'] {
    return this.programs.decode;
  }

  /** Completions of `prompts`: the new tokens decoded, cut before the first stop string. */
  async generate(prompts: string[], opts: GenerateOptions = {}): Promise<string[]> {
    const r = resolve(opts, this.promptSpecialTokens);
    if (!Array.isArray(prompts) || prompts.length === 0) throw new LetheError('generate: no prompts (expected at least one)');
    const ids = prompts.map((p, i) => {
      const t = this.tokenizer.encode(p, { addSpecialTokens: r.addSpecialTokens });
      if (t.length === 0) throw new LetheError(`generate: prompt ${i} is empty (it encodes to no tokens)`);
      return t;
    });
    const tokens = await this.generateTokens(ids, opts);
    return tokens.map((t) => cutAtStop(this.tokenizer.decode(t, { skipSpecialTokens: r.skipSpecialTokens }), r.stop));
  }

  /**
   * New token ids for each prompt (ids): up to maxNewTokens, ending before EOS, or with the token
   * that completed a stop string (`generate` then cuts the text before it).
   */
  generateTokens(prompts: number[][], opts: GenerateOptions = {}): Promise<number[][]> {
    // One call at a time: the calls share the buffers.
    const run = this.queue.then(() => this.generateAll(prompts, resolve(opts, this.promptSpecialTokens)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async dispose(): Promise<void> {
    await this.queue;
    this.buffers = null;
    await this.programs.dispose();
  }

  private async generateAll(prompts: number[][], r: Resolved): Promise<number[][]> {
    if (prompts.length === 0) throw new LetheError('generate: no prompts (expected at least one)');
    const V = this.model.config.vocabSize;
    prompts.forEach((p, i) => {
      if (p.length === 0) throw new LetheError(`generate: prompt ${i} is empty (it encodes to no tokens)`);
      if (p.length >= this.maxLength && r.maxNewTokens > 0) {
        throw new LetheError(`generate: prompt ${i} has ${p.length} tokens, but the context holds ${this.maxLength} in all (prompt and at least one new token)`);
      }
      const bad = p.find((id) => !(Number.isInteger(id) && id >= 0 && id < V));
      if (bad !== undefined) throw new LetheError(`generate: prompt ${i} has token id ${bad}, outside the model's vocabulary of ${V}`);
    });
    const out: number[][] = prompts.map(() => []);
    if (r.maxNewTokens === 0) return out;
    // Similar lengths together: less padding.
    const order = prompts.map((_, i) => i).sort((a, b) => prompts[a].length - prompts[b].length);
    for (let at = 0; at < order.length; at += this.batchSize) {
      const rows = order.slice(at, at + this.batchSize);
      const done = await this.runBatch(rows.map((i) => prompts[i]), rows, r);
      rows.forEach((i, j) => (out[i] = done[j]));
    }
    return out;
  }

  /** One batch: prefill, then decode steps until every row is finished. */
  private async runBatch(prompts: number[][], indices: number[], r: Resolved): Promise<number[][]> {
    const n = prompts.length;
    let B = 1;
    while (B < n) B *= 2;
    B = Math.min(B, this.batchSize); // padded to a power of two: fewer compiled shapes
    const lengths = Array.from({ length: B }, (_, b) => (b < n ? prompts[b].length : 1));
    const budgets = lengths.map((len, b) => (b < n ? Math.min(r.maxNewTokens, this.maxLength - len) : 0));
    const T = lengthBucket(Math.max(...lengths));
    const steps = Math.max(...budgets) - 1; // decode steps after the prefill's token
    const L = lengthBucket(T + steps);
    const pads = lengths.map((len) => T - len);
    const buf = this.buffersFor(B, L);
    const { config } = this.model;
    const V = config.vocabSize;

    // Prefill: prompts left-padded to T slots.
    const ids = new BigInt64Array(B * T).fill(BigInt(this.padId));
    const mask = new Uint8Array(B * T);
    const positions = new BigInt64Array(B * T);
    for (let b = 0; b < B; b++) {
      const row = b < n ? prompts[b] : [this.padId];
      for (let t = 0; t < row.length; t++) {
        const s = b * T + pads[b] + t;
        ids[s] = BigInt(row[t]);
        mask[s] = 1;
        positions[s] = BigInt(t);
      }
    }
    const params = this.model.feeds();
    await this.programs.prefill(T, L).run({
      input_ids: { dtype: 'int64', shape: [B, T], data: ids },
      attention_mask: { dtype: 'bool', shape: [B, T], data: mask },
      position_ids: { dtype: 'int64', shape: [B, T], data: positions },
      ...params,
    }, buf.prefillInto());
    buf.start(params, mask, T);

    const window = config.family === 'llama' ? config.slidingWindow : null;
    let hiddenUpTo = -1; // slots ≤ this are outside the sliding window
    const sampler = new TokenSampler(V, r);
    const rngs = indices.map((i) => new Rng(streamSeed(r.seed, i)));
    const generated: number[][] = prompts.map(() => []);
    const active = lengths.map((_, b) => b < n && budgets[b] > 0);
    const logits = buf.logits.data as Float32Array;
    const stepIds = buf.ids.data as BigInt64Array;
    const stepPositions = buf.positions.data as BigInt64Array;
    for (let i = 0; ; i++) {
      for (let b = 0; b < n; b++) {
        if (!active[b]) continue;
        const token = sampler.pick(logits.subarray(b * V, (b + 1) * V), rngs[b]);
        if (this.eosIds.has(token)) {
          active[b] = false;
          continue;
        }
        generated[b].push(token);
        if (generated[b].length >= budgets[b] || this.hitsStop(generated[b], r)) active[b] = false;
      }
      if (!active.includes(true)) break;
      const p = T + i; // the slot this step fills (< L: steps ≤ max budget − 1)
      for (let b = 0; b < B; b++) {
        stepIds[b] = BigInt(active[b] ? generated[b][generated[b].length - 1] : this.padId);
        // Finished rows run on harmlessly; their position is clamped into the context.
        stepPositions[b] = BigInt(Math.min(p - pads[b], this.maxLength - 1));
      }
      for (; window !== null && hiddenUpTo < p - window; hiddenUpTo++) buf.hide(hiddenUpTo + 1);
      const { feeds, into } = buf.step(i, p);
      await this.programs.decode.run(feeds, into);
      buf.commit(p);
    }
    return generated;
  }

  /** Whether the completion so far contains a stop string (decoded as `generate` will decode it). */
  private hitsStop(tokens: number[], r: Resolved): boolean {
    if (r.stop.length === 0) return false;
    const text = this.tokenizer.decode(tokens, { skipSpecialTokens: r.skipSpecialTokens });
    return r.stop.some((s) => text.includes(s));
  }

  /** The buffers for (B, L): kept from the last call when the shape is the same. */
  private buffersFor(B: number, L: number): DecodeBuffers {
    if (this.buffers?.B !== B || this.buffers.L !== L) {
      this.buffers = null; // let the old ones go before allocating
      this.buffers = new DecodeBuffers(this.model.config, B, L, this.programs.cacheWrite, DecodePrograms.needsSlot(this.model, this.programs.cacheWrite));
    }
    return this.buffers;
  }
}

/** Prompt i's sampling stream: seeds spread by the golden-ratio increment. */
function streamSeed(seed: number, i: number): number {
  return (seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0;
}

/** Completions of `prompts` with a Generator made for this one call (see Generator.generate). */
export async function generate(model: Model, tokenizer: Tokenizer, prompts: string[], opts: GenerateOptions & GeneratorOptions = {}): Promise<string[]> {
  const generator = new Generator(model, tokenizer, opts);
  try {
    return await generator.generate(prompts, opts);
  } finally {
    await generator.dispose();
  }
}
