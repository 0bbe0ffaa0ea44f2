/**
 * GA, gradient ascent (Jang et al. 2023; TOFU's baseline): L_f = −ce(D_f), no retain term.
 * ce is the token-level mean over the forget batch. Unbounded below: utility collapses if run long.
 */
import { z } from 'zod';
import * as o from '../../engine/ops.ts';
import { commonOptionFields, type UnlearnMethod } from '../method.ts';
import { batchCe } from '../objective.ts';

export const ga: UnlearnMethod = {
  name: 'ga',
  summary: 'gradient ascent on the forget set: L = −ce(D_f)',
  defaults: { gamma: 1, alpha: 0, retain: 'none' },
  schema: z.strictObject(commonOptionFields),
  lr: 1e-5,
  needs: [],
  labelLogprobsOnly: true,
  forgetLoss: ({ forget }) => o.neg(batchCe(forget)),
};
