// Frozen-reference quantities (REFERENCE.md: "anything that depends only on θ_ref and the data
// is a constant of the run"): NPO/IdkDPO sequence log-probs, UNDIAL's and the KL term's
// reference token distributions, RMU's reference hidden states. One forward program over each
// batch, once, before training, instead of a second model in every step.

import type { HostTensor } from '../engine/dtype.ts';
import { Graph, type Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { compile, type Program } from '../engine/program.ts';
import type { Batch } from '../data/batches.ts';
import type { Model } from '../models/model.ts';
import { sequenceLogprob } from '../nn/loss.ts';

export interface ReferenceOutputs {
  /** Sequence log-prob of each target (summed over target tokens). [B] */
  sequenceLogprob?: HostTensor;
  /** Token distribution (log-probs over the vocabulary) at every position. [B, T, V] */
  tokenLogprobs?: HostTensor;
  /** Hidden state after the asked block. [B, T, C] */
  hidden?: HostTensor;
}

export interface ReferenceWants {
  sequenceLogprob?: boolean;
  tokenLogprobs?: boolean;
  hiddenLayer?: number;
}

export class ReferenceScorer {
  private readonly program: Program;

  constructor(private readonly model: Model, want: ReferenceWants) {
    const g = new Graph();
    const ids = g.input('input_ids', 'int64', ['B', 'T']);
    const labels = g.input('labels', 'int64', ['B', 'T']);
    const mask = g.input('mask', 'float32', ['B', 'T']);
    const out = model.forward(g, ids);
    const outputs: Record<string, Tensor> = {};
    if (want.sequenceLogprob) outputs.sequenceLogprob = sequenceLogprob(out.logits, labels, mask);
    if (want.tokenLogprobs) outputs.tokenLogprobs = o.logSoftmax(out.logits, -1);
    if (want.hiddenLayer !== undefined) outputs.hidden = out.hidden[want.hiddenLayer];
    this.program = compile([ids, labels, mask, ...out.params.values()], outputs, { label: 'the frozen reference' });
  }

  async run(batch: Batch): Promise<ReferenceOutputs> {
    const shape = [batch.batchSize, batch.seqLength];
    return this.program.run({
      ...this.model.feeds(),
      input_ids: { dtype: 'int64', shape, data: batch.inputIds },
      labels: { dtype: 'int64', shape, data: batch.labels },
      mask: { dtype: 'float32', shape, data: batch.targetMask },
    });
  }

  dispose(): Promise<void> {
    return this.program.dispose();
  }
}

/** The reference outputs of every batch, in order; nothing is run when nothing is wanted. */
export async function referenceOutputs(model: Model, batches: readonly Batch[], want: ReferenceWants): Promise<ReferenceOutputs[]> {
  if (!want.sequenceLogprob && !want.tokenLogprobs && want.hiddenLayer === undefined) return [];
  const scorer = new ReferenceScorer(model, want);
  try {
    const out: ReferenceOutputs[] = [];
    for (const b of batches) out.push(await scorer.run(b));
    return out;
  } finally {
    await scorer.dispose();
  }
}
