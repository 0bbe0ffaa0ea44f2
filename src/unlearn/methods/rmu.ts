/**
 * RMU, representation misdirection (Li et al. 2024, WMDP): with h the hidden state after block ℓ,
 * u ~ U[0,1)^d normalised and fixed for the run,
 *   L_f = mean ‖h_θ(x_f) − c·u‖²,   L_r = mean ‖h_θ(x_r) − h_ref(x_r)‖²
 * "mean" as torch's mse_loss in the WMDP code: over target positions and the d hidden units.
 * Defaults: ℓ = the middle block (layer −1 stands for it, resolved against the model), c = 6.5
 * (6.5–20 published), α = 100 (100–1200 published), only the MLP down-projections of blocks
 * ℓ−2..ℓ trainable, lr 5e-5.
 */
import { z } from 'zod';
import * as o from '../../engine/ops.ts';
import type { Tensor } from '../../engine/graph.ts';
import { mlpOutputModule } from '../../models/hf-layout.ts';
import type { Model } from '../../models/model.ts';
import { commonOptionFields, requireInput, type UnlearnMethod } from '../method.ts';
import { targetMean } from '../objective.ts';

const NAME = 'rmu';

function maskedMse(h: Tensor, target: Tensor, mask: Tensor): Tensor {
  return targetMean(o.mean(o.square(o.sub(h, target)), -1), mask); // per position [B, T] → scalar
}

/**
 * The MLP output projections of blocks ℓ−2..ℓ (the family's name: `mlp.down_proj` in Llama-style
 * models, `mlp.c_proj` in GPT-2, `mlp.dense_4h_to_h` in GPT-NeoX, `mlp.fc2` in Phi, `fc2` in
 * OPT; hf-layout.ts mlpOutputModule), as a parameter-name pattern.
 */
export function downProjectionPattern(model: Model, layer: number): string {
  const blocks = [layer - 2, layer - 1, layer].filter((l) => l >= 0);
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `^(${blocks.map((l) => escape(`${mlpOutputModule(model.config, l)}.weight`)).join('|')})$`;
}

export const rmu: UnlearnMethod<{ layer: number; steeringCoef: number }> = {
  name: NAME,
  summary: 'push block-ℓ activations on forget text toward a random direction; keep them on retain text',
  defaults: { layer: -1, steeringCoef: 6.5, gamma: 1, alpha: 100, retain: 'none' },
  schema: z.strictObject({ ...commonOptionFields, layer: z.number().int().min(-1), steeringCoef: z.number().positive() }),
  lr: 5e-5,
  needs: ['hidden', 'refRetainHidden', 'direction'],
  resolve: (opts, model) => (opts.layer < 0 ? { ...opts, layer: Math.floor(model.config.numLayers / 2) } : opts),
  hiddenLayer: (opts) => opts.layer,
  scope: (opts, model) => ({ kind: 'pattern', pattern: downProjectionPattern(model, opts.layer) }),
  forgetLoss: ({ forget, direction }, { steeringCoef }) => {
    const h = requireInput(forget.hidden, NAME, 'the hidden state of block ℓ');
    const u = requireInput(direction, NAME, 'its random direction');
    return maskedMse(h, o.mul(u, steeringCoef), forget.mask);
  },
  retainLoss: ({ retain, refRetainHidden }) => {
    const r = requireInput(retain, NAME, 'a retain batch');
    return maskedMse(requireInput(r.hidden, NAME, 'the retain hidden state'), requireInput(refRetainHidden, NAME, 'the reference retain hidden state'), r.mask);
  },
};
