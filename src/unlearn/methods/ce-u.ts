/**
 * CE-U, cross-entropy unlearning (Yang 2025): the target is the model's own distribution with
 * the true token removed, target = softmax(z_θ with z_y = −∞), no gradient through it;
 *   L_f = CE(z_θ, target)   on target positions.
 * Bounded: it moves mass off the true token to the model's other candidates.
 */
import { z } from 'zod';
import * as o from '../../engine/ops.ts';
import { commonOptionFields, type UnlearnMethod } from '../method.ts';
import { oneHot, softTargetCe } from '../objective.ts';

export const ceU: UnlearnMethod = {
  name: 'ce-u',
  summary: 'cross-entropy toward the model\'s own distribution without the true token',
  defaults: { gamma: 1, alpha: 1, retain: 'nll' },
  schema: z.strictObject(commonOptionFields),
  lr: 1e-5,
  needs: [],
  // −1e9 stands for −∞: exp underflows to exactly 0 in float32 without producing NaN.
  forgetLoss: ({ forget }) => softTargetCe(forget, o.softmax(o.sub(forget.logits, o.mul(oneHot(forget), 1e9)), -1)),
};
