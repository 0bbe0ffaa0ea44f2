/**
 * WGA, weighted gradient ascent (Wang et al. 2025): w_t = p_θ(y_t)^β with no gradient through w,
 *   L_f = −mean_t (w_t · ce_t)   over the forget batch's target tokens (ce_t = −log p_θ(y_t)).
 * Tokens the model has already forgotten (small p) stop pushing. Default β = 1, retain nll.
 */
import { z } from 'zod';
import * as o from '../../engine/ops.ts';
import { commonOptionFields, type UnlearnMethod } from '../method.ts';
import { targetMean, tokenLogprobs } from '../objective.ts';

export const wga: UnlearnMethod<{ beta: number }> = {
  name: 'wga',
  summary: 'gradient ascent weighted by each token\'s probability p^β',
  defaults: { beta: 1, gamma: 1, alpha: 1, retain: 'nll' },
  schema: z.strictObject({ ...commonOptionFields, beta: z.number().min(0) }),
  lr: 1e-5,
  needs: [],
  labelLogprobsOnly: true,
  forgetLoss: ({ forget }, { beta }) => {
    const logp = tokenLogprobs(forget); // [B, T]
    const w = o.stopGradient(o.exp(o.mul(logp, beta)));
    return o.neg(targetMean(o.mul(w, o.neg(logp)), forget.mask));
  },
};
