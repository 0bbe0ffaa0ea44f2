/**
 * SatImp (Yang et al. 2025): token weights w_t = p_t^β1 · (1 − p_t)^β2 with no gradient,
 *   L_f = −mean_t (w_t · ce_t)   over target tokens.
 * Defaults β1 = 5, β2 = 1, retain nll.
 */
import { z } from 'zod';
import * as o from '../../engine/ops.ts';
import { commonOptionFields, type UnlearnMethod } from '../method.ts';
import { targetMean, tokenLogprobs } from '../objective.ts';

export const satImp: UnlearnMethod<{ beta1: number; beta2: number }> = {
  name: 'satimp',
  summary: 'gradient ascent weighted by p^β1·(1−p)^β2 (saturation and importance)',
  defaults: { beta1: 5, beta2: 1, gamma: 1, alpha: 1, retain: 'nll' },
  schema: z.strictObject({ ...commonOptionFields, beta1: z.number().min(0), beta2: z.number().min(0) }),
  lr: 1e-5,
  needs: [],
  labelLogprobsOnly: true,
  forgetLoss: ({ forget }, { beta1, beta2 }) => {
    const logp = tokenLogprobs(forget);
    const p = o.exp(logp);
    const w = o.stopGradient(o.mul(o.exp(o.mul(logp, beta1)), o.pow(o.clip(o.sub(1, p), 0, 1), beta2)));
    return o.neg(targetMean(o.mul(w, o.neg(logp)), forget.mask));
  },
};
