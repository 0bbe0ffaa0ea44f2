/**
 * NPO, negative preference optimisation (Zhang et al. 2024):
 *   L_f = −(2/β) · mean_i log σ(−β · (logp_θ(y_i) − logp_ref(y_i)))
 * with sequence log-probs (summed over target tokens) and logp_ref precomputed once from θ_ref.
 * Defaults: β = 0.1, retain nll, γ = α = 1 (open-unlearning's code default β = 1.0 disagrees with
 * its config's 0.1; REFERENCE.md takes 0.1).
 */
import { z } from 'zod';
import * as o from '../../engine/ops.ts';
import { requireInput, commonOptionFields, type UnlearnMethod } from '../method.ts';
import { dpoLoss, sequenceLogp } from '../objective.ts';

export const npo: UnlearnMethod<{ beta: number }> = {
  name: 'npo',
  summary: 'negative preference optimisation against the frozen reference: bounded, slower collapse than GA',
  defaults: { beta: 0.1, gamma: 1, alpha: 1, retain: 'nll' },
  schema: z.strictObject({ ...commonOptionFields, beta: z.number().positive() }),
  lr: 1e-5,
  needs: ['refForgetSeqLogp'],
  labelLogprobsOnly: true,
  forgetLoss: ({ forget, refForgetSeqLogp }, { beta }) => {
    const ref = requireInput(refForgetSeqLogp, 'npo', 'the reference log-probs of the forget set');
    return dpoLoss(o.neg(o.sub(sequenceLogp(forget), ref)), beta);
  },
};
