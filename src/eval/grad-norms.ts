// The GradNorm membership-inference signal: for each text alone (batch size 1), the gradient of
// its nll (summed over target tokens, REFERENCE.md's nll) with respect to every parameter
// tensor, and each tensor's L2 norm. Members of the training set tend to have smaller gradients.
// A forward and backward pass per text, so it runs only when asked for.

import { grad } from '../engine/autodiff.ts';
import { Graph } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { compile, type Program } from '../engine/program.ts';
import { makeBatches } from '../data/batches.ts';
import type { PromptPair, PromptTemplate } from '../data/templates.ts';
import { resolveContextLength, type Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';

export class GradientNorms {
  /** Texts run (forward and backward) so far. */
  passes = 0;
  private program: Program | null = null;
  private readonly cache = new Map<string, Float32Array>();
  /** The model with float32 parameters (gradients are taken with respect to them), made on first use. */
  private wide: Model | null = null;

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    private readonly options: { template: Pick<PromptTemplate, 'promptSpecialTokens' | 'appendEos'>; contextLength?: number },
  ) {}

  private build(): Program {
    const g = new Graph();
    const ids = g.input('input_ids', 'int64', [1, 'T']);
    const labels = g.input('labels', 'int64', [1, 'T']);
    const mask = g.input('mask', 'float32', [1, 'T']);
    this.wide ??= this.model.widened();
    const fwd = this.wide.forward(g, ids);
    const logp = o.squeeze(o.gatherElements(o.logSoftmax(fwd.logits, -1), o.unsqueeze(labels, -1), 2), -1);
    const nll = o.neg(o.sum(o.mul(logp, mask)));
    const params = [...fwd.params.values()];
    const norms = grad(nll, params).map((t) => o.reshape(o.sqrt(o.sum(o.square(t))), [1]));
    return compile([ids, labels, mask, ...params], { norms: o.concat(norms, 0) });
  }

  /** Per text, the L2 norm of d nll / d W for each parameter tensor W. */
  async norms(pairs: readonly PromptPair[]): Promise<Float32Array[]> {
    const key = (p: PromptPair) => `${p.prompt}\u0000${p.target}`;
    const todo = pairs.filter((p) => !this.cache.has(key(p)));
    if (todo.length) {
      this.program ??= this.build();
      const batches = makeBatches(this.tokenizer, todo, {
        batchSize: 1,
        contextLength: resolveContextLength(this.model.config, this.options.contextLength),
        promptSpecialTokens: this.options.template.promptSpecialTokens,
        appendEos: this.options.template.appendEos,
      });
      for (const b of batches) {
        const shape = [1, b.seqLength];
        const out = await this.program.run({
          ...this.wide!.feeds(),
          input_ids: { dtype: 'int64', shape, data: b.inputIds },
          labels: { dtype: 'int64', shape, data: b.labels },
          mask: { dtype: 'float32', shape, data: b.targetMask },
        });
        this.passes++;
        this.cache.set(key(todo[b.indices[0]]), Float32Array.from(out.norms.data as Float32Array));
      }
    }
    return pairs.map((p) => this.cache.get(key(p))!);
  }

  async dispose(): Promise<void> {
    await this.program?.dispose();
  }
}
