// Frozen-reference quantities (REFERENCE.md: "anything that depends only on θ_ref and the data
// is a constant of the run"): NPO/IdkDPO sequence log-probs, UNDIAL's and the KL term's
// reference log-probs, RMU's reference hidden states. One forward program over each batch,
// once, before training, instead of a second model in every step.

import type { HostTensor } from '../engine/dtype.ts';
import { Graph } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { compile, type Program } from '../engine/program.ts';
import type { Batch } from '../data/batches.ts';
import type { Model } from '../models/model.ts';
import { sequenceLogp } from './objective.ts';

export interface ReferenceOutputs {
  seqLogp?: HostTensor; // [B]
  logprobs?: HostTensor; // [B, T, V]
  hidden?: HostTensor; // [B, T, C]
}

export class ReferenceScorer {
  private readonly program: Program;

  constructor(private readonly model: Model, want: { seqLogp?: boolean; logprobs?: boolean; hiddenLayer?: number }) {
    const g = new Graph();
    const ids = g.input('input_ids', 'int64', ['B', 'T']);
    const labels = g.input('labels', 'int64', ['B', 'T']);
    const mask = g.input('mask', 'float32', ['B', 'T']);
    const out = model.forward(g, ids);
    const outputs: Record<string, ReturnType<typeof o.add>> = {};
    if (want.seqLogp) outputs.seqLogp = sequenceLogp({ logits: out.logits, labels, mask });
    if (want.logprobs) outputs.logprobs = o.logSoftmax(out.logits, -1);
    if (want.hiddenLayer !== undefined) outputs.hidden = out.hidden[want.hiddenLayer];
    this.program = compile([ids, labels, mask, ...out.params.values()], outputs);
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
