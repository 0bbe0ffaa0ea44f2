// Saliency masks for localisation-informed unlearning: score every weight, keep the top
// fraction trainable. WAGLE: |(θ − ∇L_r/μ) ⊙ ∇L_f|, μ = 1e-6; SalUn-style: |∇L_f|. L_f and L_r
// are the mean token NLL on the forget and retain sets (the sign of ∇L_f does not change |·|);
// gradients are summed over all batches by one compiled gradient program.

import { grad } from '../engine/autodiff.ts';
import { Graph } from '../engine/graph.ts';
import { compile } from '../engine/program.ts';
import type { Batch } from '../data/batches.ts';
import type { Model } from '../models/model.ts';
import { batchCe } from './objective.ts';
import { topFractionMasks, type ScopeOptions } from './scope.ts';

async function gradientSum(model: Model, batches: Batch[], names: string[]): Promise<Map<string, Float32Array>> {
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['B', 'T']);
  const labels = g.input('labels', 'int64', ['B', 'T']);
  const mask = g.input('mask', 'float32', ['B', 'T']);
  const fwd = model.forward(g, ids);
  const gs = grad(batchCe({ logits: fwd.logits, labels, mask }), names.map((n) => fwd.params.get(n)!));
  const program = compile([ids, labels, mask, ...fwd.params.values()], Object.fromEntries(gs.map((t, i) => [`g${i}`, t])));
  const sums = new Map(names.map((n) => [n, new Float32Array(model.params.get(n)!.data.length)]));
  for (const b of batches) {
    const shape = [b.batchSize, b.seqLength];
    const out = await program.run({ ...model.feeds(), input_ids: { dtype: 'int64', shape, data: b.inputIds }, labels: { dtype: 'int64', shape, data: b.labels }, mask: { dtype: 'float32', shape, data: b.targetMask } });
    names.forEach((n, i) => {
      const acc = sums.get(n)!;
      const gi = out[`g${i}`].data as Float32Array;
      for (let k = 0; k < acc.length; k++) acc[k] += gi[k]; // once per batch, before training
    });
  }
  await program.dispose();
  return sums;
}

export async function saliencyMasks(
  model: Model,
  forget: Batch[],
  retain: Batch[],
  scope: Extract<ScopeOptions, { kind: 'saliency' }>,
  names: string[],
): Promise<Map<string, Float32Array>> {
  const gf = await gradientSum(model, forget, names);
  const scores = new Map<string, Float32Array>();
  if (scope.score === 'wagle') {
    const mu = scope.mu ?? 1e-6;
    const gr = retain.length ? await gradientSum(model, retain, names) : null;
    for (const n of names) {
      const theta = model.params.get(n)!.data as Float32Array;
      const f = gf.get(n)!;
      const r = gr?.get(n);
      scores.set(n, Float32Array.from(f, (v, k) => Math.abs((theta[k] - (r ? r[k] / mu : 0)) * v)));
    }
  } else {
    for (const n of names) scores.set(n, gf.get(n)!.map(Math.abs));
  }
  return topFractionMasks(scores, scope.keep);
}
