/**
 * RMU, representation misdirection (Li et al. 2024, WMDP): with h the hidden state after block ℓ,
 * u ~ U[0,1)^d normalised and fixed for the run,
 *   L_f = mean ‖h_θ(x_f) − c·u‖²,   L_r = mean ‖h_θ(x_r) − h_ref(x_r)‖²
 * "mean" as torch's mse_loss in the WMDP code: over target positions and the d hidden units.
 * Defaults: ℓ = the block at `layerDepth` of the model's depth, ⌊layerDepth · L⌋ with L blocks
 * (layer −1 stands for it, resolved against the model; layerDepth 0.5: the middle block), c = 6.5
 * (6.5–20 published), α = 100 (100–1200 published), only the MLP down-projections of blocks
 * ℓ−2..ℓ trainable, lr 5e-5.
 *
 * The published recipe (`lethe unlearn --method rmu --preset wmdp`, RMU_WMDP_PRESET): the
 * WMDP code (centerforaisafety/wmdp, rmu/unlearn.py, with the arguments of the notebook that made
 * the released Zephyr_RMU checkpoint) unlearns at layer_id 7 of Zephyr-7B's 32 blocks and updates
 * only mlp.down_proj of layer_ids 5,6,7 (param_ids 6), c = 6.5, α = 1200, AdamW lr 5e-5 (the
 * transformers AdamW: no weight decay), no clipping, no schedule, batches of 4 forget and 4
 * retain texts, one pass of at most max_num_batches = 150 batches, texts cut to 512 tokens. Here
 * the layer is taken relative to depth (layerDepth 7/32: block 7 of 32, block 2 of 12, block 0
 * of 4) and the rest as published.
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

/** Block ⌊depth · L⌋ of a model of L blocks (at most the last). */
export function layerAtDepth(numLayers: number, depth: number): number {
  return Math.min(numLayers - 1, Math.floor(depth * numLayers + 1e-9));
}

/**
 * RMU's published recipe for text corpora (the WMDP code, see the doc comment above): the
 * method options, the training options of `lethe unlearn`, and the forget set's limits.
 */
export const RMU_WMDP_PRESET = {
  /** Block 7 of 32 (Zephyr-7B) taken relative to depth; c and α of the released checkpoint. */
  methodOptions: { layerDepth: 7 / 32, steeringCoef: 6.5, alpha: 1200 },
  /** One pass, batches of 4, AdamW lr 5e-5 without weight decay, clipping, warm-up or decay. */
  training: { lr: 5e-5, epochs: 1, batchSize: 4, accumulation: 1, schedule: 'constant', warmupSteps: 0, weightDecay: 0, maxGradNorm: 0 },
  /** max_num_batches: only the forget set's first maxBatches · batchSize documents are used (the WMDP code reads its corpora in order). */
  maxBatches: 150,
  /** Forget and retain texts longer than this are cut (the WMDP code tokenises with truncation at 512). */
  maxTokens: 512,
} as const;

export const rmu: UnlearnMethod<{ layer: number; layerDepth: number; steeringCoef: number }> = {
  name: NAME,
  summary: 'push block-ℓ activations on forget text toward a random direction; keep them on retain text',
  defaults: { layer: -1, layerDepth: 0.5, steeringCoef: 6.5, gamma: 1, alpha: 100, retain: 'none' },
  schema: z.strictObject({ ...commonOptionFields, layer: z.number().int().min(-1), layerDepth: z.number().min(0).lt(1), steeringCoef: z.number().positive() }),
  lr: 5e-5,
  needs: ['hidden', 'refRetainHidden', 'direction'],
  labelLogprobsOnly: true,
  resolve: (opts, model) => (opts.layer < 0 ? { ...opts, layer: layerAtDepth(model.config.numLayers, opts.layerDepth) } : opts),
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
