/**
 * UNDIAL (Dong et al. 2024), self-distillation toward an adjusted reference:
 *   target = softmax(z_ref − β · onehot(y_t)),   L_f = CE(z_θ, target)   on target positions only.
 * θ_ref's log-probs are precomputed (softmax is shift-invariant, so log-probs stand for logits).
 * Defaults β = 10, α = 0. The published code applied no ignore-mask, so a masked label wrapped to a
 * real vocabulary index; here masked positions carry no loss.
 */
import { z } from 'zod';
import * as o from '../../engine/ops.ts';
import { requireInput, commonOptionFields, type UnlearnMethod } from '../method.ts';
import { oneHot, softTargetCe } from '../objective.ts';

export const undial: UnlearnMethod<{ beta: number }> = {
  name: 'undial',
  summary: 'distil from the reference with the true token\'s logit lowered by β',
  defaults: { beta: 10, gamma: 1, alpha: 0, retain: 'nll' },
  schema: z.strictObject({ ...commonOptionFields, beta: z.number().min(0) }),
  lr: 1e-5,
  needs: ['refForgetTokenLogprobs'],
  forgetLoss: ({ forget, refForgetTokenLogprobs }, { beta }) => {
    const ref = requireInput(refForgetTokenLogprobs, 'undial', 'the reference log-probs of the forget set');
    return softTargetCe(forget, o.softmax(o.sub(ref, o.mul(oneHot(forget), beta)), -1));
  },
};
