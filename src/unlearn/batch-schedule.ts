// Which batch each step sees, shared by fine-tuning and unlearning: per epoch a seeded
// permutation of the (fixed) batches, `accumulation` micro-batches per optimiser step, the last
// step possibly shorter. A pure function of the step, so a resumed run sees the same data.
// Also the batches as step-graph inputs and feeds.

import type { Graph, Tensor } from '../engine/graph.ts';
import type { Feeds } from '../engine/program.ts';
import { Rng } from '../engine/random.ts';
import type { Batch } from '../data/batches.ts';
import type { LoopHooks } from './loop.ts';

export class BatchSchedule {
  /** Micro-batches over the whole run. */
  readonly microBatches: number;
  /** Optimiser steps. */
  readonly steps: number;

  constructor(readonly perEpoch: number, epochs: number, readonly accumulation: number, readonly seed: number) {
    this.microBatches = epochs * perEpoch;
    this.steps = Math.ceil(this.microBatches / accumulation);
  }

  /** The run-wide indices of the micro-batches of 0-based step `step`. */
  microOf(step: number): number[] {
    const first = step * this.accumulation;
    return Array.from({ length: Math.min(this.accumulation, this.microBatches - first) }, (_, j) => first + j);
  }

  /** The batch micro-batch `k` uses: position k mod perEpoch of its epoch's permutation. */
  batchOf(k: number): number {
    return new Rng(this.seed * 1000003 + Math.floor(k / this.perEpoch)).permutation(this.perEpoch)[k % this.perEpoch];
  }

  /** A random batch of `count` (the retain batch drawn for micro-batch `k`). */
  drawFor(k: number, count: number): number {
    return new Rng(this.seed * 7919 + k + 17).int(count);
  }

  /** The loop's data hooks, from the feeds and token count of a micro-batch. */
  hooks(feedsOf: (k: number) => Feeds, tokensOf: (k: number) => number): Pick<LoopHooks, 'batchesFor' | 'tokensFor'> {
    return {
      batchesFor: (s) => this.microOf(s).map(feedsOf),
      tokensFor: (s) => this.microOf(s).reduce((a, k) => a + tokensOf(k), 0),
    };
  }
}

/** Target tokens and prompt tokens of a batch (for tokens/s). */
export const batchTokens = (b: Batch): number => b.lengths.reduce((a, n) => a + n, 0);

/** ids, labels and mask inputs of one batch kind; `rows` names its batch dimension (IdkDPO's refusals share the forget batch's rows). */
export function scoredInputs(g: Graph, prefix: string, rows = `B${prefix}`): { ids: Tensor; labels: Tensor; mask: Tensor } {
  return {
    ids: g.input(`${prefix}.input_ids`, 'int64', [rows, `T${prefix}`]),
    labels: g.input(`${prefix}.labels`, 'int64', [rows, `T${prefix}`]),
    mask: g.input(`${prefix}.mask`, 'float32', [rows, `T${prefix}`]),
  };
}

/** The feeds of `scoredInputs(g, prefix)` for one batch. */
export function batchFeeds(prefix: string, b: Batch): Feeds {
  const shape = [b.batchSize, b.seqLength];
  return {
    [`${prefix}.input_ids`]: { dtype: 'int64', shape, data: b.inputIds },
    [`${prefix}.labels`]: { dtype: 'int64', shape, data: b.labels },
    [`${prefix}.mask`]: { dtype: 'float32', shape, data: b.targetMask },
  };
}
