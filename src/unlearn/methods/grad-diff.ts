/**
 * GradDiff (Liu et al. 2022; TOFU): gradient ascent on the forget set plus descent on the retain
 * set, L = −γ·ce(D_f) + α·L_r, L_r = nll (or kl). Defaults γ = α = 1.
 */
import { z } from 'zod';
import * as o from '../../engine/ops.ts';
import { commonOptionFields, type UnlearnMethod } from '../method.ts';
import { batchCe } from '../objective.ts';

export const gradDiff: UnlearnMethod = {
  name: 'graddiff',
  summary: 'ascent on the forget set, descent on the retain set: L = −ce(D_f) + L_r',
  defaults: { gamma: 1, alpha: 1, retain: 'nll' },
  schema: z.strictObject(commonOptionFields),
  lr: 1e-5,
  needs: [],
  labelLogprobsOnly: true,
  forgetLoss: ({ forget }) => o.neg(batchCe(forget)),
};
