// Adversarial unlearning, the survey's two-player game: an inner attacker perturbs the hidden
// states of block ℓ within a per-token L2 ball of radius ε to bring the forget answers back
// (lower their NLL); the outer unlearning step then runs under that perturbation. The attack is
// `steps` normalised-gradient steps of size 2.5·ε/steps (the usual PGD choice), each projected
// onto the ball, unrolled in the step graph; the result is a constant for the outer step.

import { grad } from '../engine/autodiff.ts';
import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { batchCe } from './objective.ts';

export interface AdversarialOptions {
  layer: number;
  eps: number;
  steps: number;
}

const tokenNorm = (t: Tensor) => o.sqrt(o.add(o.sum(o.square(t), -1, true), 1e-12)); // [B, T, 1]

/**
 * δ [B, T, C] after the inner attack. `logitsWith(δ)` is the forget pass with δ added after block
 * ℓ; `hidden` is that block's clean output (for δ's shape).
 */
export function adversarialDelta(logitsWith: (delta: Tensor) => Tensor, hidden: Tensor, labels: Tensor, mask: Tensor, opts: AdversarialOptions): Tensor {
  let delta = o.zerosLike(hidden);
  for (let k = 0; k < opts.steps; k++) {
    const [gd] = grad(batchCe({ logits: logitsWith(delta), labels, mask }), [delta]);
    delta = o.sub(delta, o.mul(o.div(gd, tokenNorm(gd)), (2.5 * opts.eps) / opts.steps));
    delta = o.mul(delta, o.minimum(o.div(opts.eps, tokenNorm(delta)), 1));
  }
  return o.stopGradient(delta);
}
