/**
 * SimNPO (Fan et al. 2024), reference-free and length-normalised:
 *   L_f = −(2/β) · mean_i log σ(β · (ce_θ(y_i) − δ)),  ce = nll/|y|
 * Defaults for TOFU forget10: β = 4.5, δ = 0, γ = 0.125, α = 1 (forget05: β = 2.5, γ = 0.1375).
 */
import { z } from 'zod';
import * as o from '../../engine/ops.ts';
import { commonOptionFields, type UnlearnMethod } from '../method.ts';
import { dpoLoss, sampleCe } from '../objective.ts';

export const simNpo: UnlearnMethod<{ beta: number; delta: number }> = {
  name: 'simnpo',
  summary: 'reference-free, length-normalised NPO',
  defaults: { beta: 4.5, delta: 0, gamma: 0.125, alpha: 1, retain: 'nll' },
  schema: z.strictObject({ ...commonOptionFields, beta: z.number().positive(), delta: z.number() }),
  lr: 1e-5,
  needs: [],
  labelLogprobsOnly: true,
  forgetLoss: ({ forget }, { beta, delta }) => dpoLoss(o.sub(sampleCe(forget), delta), beta),
};
