// The one scoring pass: each (prompt, target) text goes through the model once, teacher-forced,
// and everything the log-prob metrics need comes out of that pass: per-token log p(label), the
// argmax (Exact Memorization, Extraction Strength), and the vocabulary mean and variance of
// log p (Min-K%++). Results are cached by text, so Prob, Truth Ratio and every MIA score of the
// same text share the pass; `passes` counts texts actually run.

import type { HostTensor } from '../engine/dtype.ts';
import { Graph } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { compile, type Program } from '../engine/program.ts';
import { headScores, slicedHeadOf } from '../nn/head.ts';
import { makeBatches } from '../data/batches.ts';
import type { PromptPair, PromptTemplate } from '../data/templates.ts';
import { resolveContextLength, type Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';

export interface ScoredText {
  prompt: string;
  target: string;
  /** log p(y_t | x, y_<t) per target token. */
  tokenLogprobs: Float32Array;
  /** E_p[log p] and Var_p[log p] over the vocabulary at each target position (Min-K%++). */
  tokenMean: Float32Array;
  tokenVariance: Float32Array;
  /** Teacher-forced argmax and the labels at each target position. */
  argmax: Int32Array;
  labels: Int32Array;
  /** nll = −Σ log p over the target; ce = nll / |y|. */
  nll: number;
  ce: number;
}

export interface ScorerOptions {
  template: Pick<PromptTemplate, 'promptSpecialTokens' | 'appendEos'>;
  batchSize?: number;
  contextLength?: number;
  /** Bytes of the output head's slices (ForwardOptions.headSliceBytes); default the model's. */
  headSliceBytes?: number;
}

const keyOf = (p: PromptPair) => `${p.prompt}\u0000${p.target}`;

export class Scorer {
  /** Texts run through the model so far (cache hits excluded). */
  passes = 0;
  private readonly cache = new Map<string, ScoredText>();
  private program: Program | null = null;

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    private readonly options: ScorerOptions,
  ) {}

  private build(): Program {
    const g = new Graph();
    const ids = g.input('input_ids', 'int64', ['B', 'T']);
    const labels = g.input('labels', 'int64', ['B', 'T']);
    const { logits, params } = this.model.forward(g, ids, this.options.headSliceBytes ? { headSliceBytes: this.options.headSliceBytes } : {});
    // A large vocabulary: the same quantities slice by slice, without [B, T, V] tensors.
    const head = slicedHeadOf(logits);
    if (head) return compile([ids, labels, ...params.values()], { ...headScores(head, labels) }, { label: 'scoring' });
    const logp = o.logSoftmax(logits, -1); // [B, T, V]
    const p = o.exp(logp);
    const mean = o.sum(o.mul(p, logp), -1); // [B, T]
    const variance = o.sub(o.sum(o.mul(p, o.square(logp)), -1), o.square(mean));
    const picked = o.squeeze(o.gatherElements(logp, o.unsqueeze(labels, -1), 2), -1);
    return compile([ids, labels, ...params.values()], { logp: picked, mean, variance, argmax: o.argmax(logits, -1) }, { label: 'scoring' });
  }

  /** Score pairs (cached per text), in the order given. */
  async score(pairs: readonly PromptPair[]): Promise<ScoredText[]> {
    const todo = [...new Map(pairs.filter((p) => !this.cache.has(keyOf(p))).map((p) => [keyOf(p), p])).values()];
    if (todo.length > 0) {
      this.program ??= this.build();
      const ctx = resolveContextLength(this.model.config, this.options.contextLength);
      const batches = makeBatches(this.tokenizer, todo, {
        batchSize: this.options.batchSize ?? 16,
        contextLength: ctx,
        order: 'length',
        // Every batch full (empty fill rows), so one compiled program per length bucket serves all calls.
        fillLastBatch: true,
        promptSpecialTokens: this.options.template.promptSpecialTokens,
        appendEos: this.options.template.appendEos,
      });
      const params = this.model.feeds();
      for (const b of batches) {
        const shape = [b.batchSize, b.seqLength];
        const out = await this.program.run({
          ...params,
          input_ids: { dtype: 'int64', shape, data: b.inputIds },
          labels: { dtype: 'int64', shape, data: b.labels },
        });
        for (let r = 0; r < b.batchSize; r++) {
          if (b.indices[r] < 0) continue; // a fill row
          this.passes++;
          const item = todo[b.indices[r]];
          this.cache.set(keyOf(item), extract(out, b.targetMask, b.labels, r, b.seqLength, item));
        }
      }
    }
    return pairs.map((p) => this.cache.get(keyOf(p))!);
  }

  async dispose(): Promise<void> {
    await this.program?.dispose();
  }
}

function extract(out: Record<string, HostTensor>, mask: Float32Array, labels: BigInt64Array, row: number, t: number, pair: PromptPair): ScoredText {
  const at: number[] = [];
  for (let i = row * t; i < (row + 1) * t; i++) if (mask[i] === 1) at.push(i);
  const pick = (src: Float32Array) => Float32Array.from(at, (i) => src[i]);
  const tokenLogprobs = pick(out.logp.data as Float32Array);
  const nll = -tokenLogprobs.reduce((a, v) => a + v, 0);
  return {
    prompt: pair.prompt,
    target: pair.target,
    tokenLogprobs,
    tokenMean: pick(out.mean.data as Float32Array),
    tokenVariance: pick(out.variance.data as Float32Array),
    argmax: Int32Array.from(at, (i) => Number((out.argmax.data as BigInt64Array)[i])),
    labels: Int32Array.from(at, (i) => Number(labels[i])),
    nll,
    ce: nll / Math.max(1, at.length),
  };
}
