/**
 * IdkDPO (TOFU; Rafailov et al. 2023's DPO with a refusal as the preferred answer):
 *   L_f = −(2/β) · mean log σ(β · ((logp_θ(y_idk) − logp_ref(y_idk)) − (logp_θ(y_f) − logp_ref(y_f))))
 * y_idk drawn from TOFU's refusal list for each forget question; reference log-probs precomputed.
 * Default β = 0.1, retain nll.
 */
import { z } from 'zod';
import * as o from '../../engine/ops.ts';
import { requireInput, commonOptionFields, type UnlearnMethod } from '../method.ts';
import { dpoLoss, sequenceLogp } from '../objective.ts';

export const idkDpo: UnlearnMethod<{ beta: number }> = {
  name: 'idkdpo',
  summary: 'DPO preferring a refusal ("I don\'t know") over the forget answer',
  defaults: { beta: 0.1, gamma: 1, alpha: 1, retain: 'nll' },
  schema: z.strictObject({ ...commonOptionFields, beta: z.number().positive() }),
  lr: 1e-5,
  needs: ['idk', 'refForgetSeqLogp', 'refIdkSeqLogp'],
  labelLogprobsOnly: true,
  forgetLoss: ({ forget, idk, refForgetSeqLogp, refIdkSeqLogp }, { beta }) => {
    const win = o.sub(sequenceLogp(requireInput(idk, 'idkdpo', 'refusal answers')), requireInput(refIdkSeqLogp, 'idkdpo', 'reference log-probs of the refusals'));
    const lose = o.sub(sequenceLogp(forget), requireInput(refForgetSeqLogp, 'idkdpo', 'reference log-probs of the forget set'));
    return dpoLoss(o.sub(win, lose), beta);
  },
};
