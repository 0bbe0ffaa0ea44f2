/**
 * RMU, representation misdirection (Li et al. 2024, WMDP): with h the hidden state after block ℓ,
 * u ~ U[0,1)^d normalised and fixed for the run,
 *   L_f = mean ‖h_θ(x_f) − c·u‖²,   L_r = mean ‖h_θ(x_r) − h_ref(x_r)‖²
 * "mean" as torch's mse_loss in the WMDP code: over target positions and the d hidden units.
 * Defaults: ℓ = the middle block, c = 6.5 (6.5–20 published), α = 100 (100–1200 published), only
 * the MLP down-projections of blocks ℓ−2..ℓ trainable, lr 5e-5.
 */
import * as o from '../../engine/ops.ts';
import type { Tensor } from '../../engine/graph.ts';
import { requireInput, type UnlearnMethod } from '../method.ts';

function maskedMse(h: Tensor, target: Tensor, mask: Tensor): Tensor {
  const perPosition = o.mean(o.square(o.sub(h, target)), -1); // [B, T]
  return o.div(o.sum(o.mul(perPosition, mask)), o.maximum(o.sum(mask), 1));
}

export const rmu: UnlearnMethod<{ layer: number; steeringCoef: number }> = {
  name: 'rmu',
  summary: 'push block-ℓ activations on forget text toward a random direction; keep them on retain text',
  // layer −1 means "the middle block", resolved by the run from the model's depth.
  defaults: { layer: -1, steeringCoef: 6.5, gamma: 1, alpha: 100, retain: 'none' },
  needs: ['hidden', 'refRetainHidden'],
  forgetLoss: ({ forget, direction }, { steeringCoef }) => {
    const h = requireInput(forget.hidden, 'rmu', 'the hidden state of block ℓ');
    const u = requireInput(direction, 'rmu', 'its random direction');
    return maskedMse(h, o.mul(u, steeringCoef), forget.mask);
  },
  retainLoss: ({ retain, refRetainHidden }) => {
    const r = requireInput(retain, 'rmu', 'a retain batch');
    return maskedMse(requireInput(r.hidden, 'rmu', 'the retain hidden state'), requireInput(refRetainHidden, 'rmu', 'the reference retain hidden state'), r.mask);
  },
};
