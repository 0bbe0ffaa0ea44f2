// Retain terms L_r (REFERENCE.md): what keeps the model's other knowledge while it forgets.

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { batchCe, targetMean, type Scored } from './objective.ts';

export const RETAIN_KINDS = ['nll', 'kl', 'none'] as const;
export type RetainKind = (typeof RETAIN_KINDS)[number];

export interface RetainOptions {
  kind: RetainKind;
  /**
   * KL positions: 'target' averages over target tokens only (our default, the cleaner choice);
   * 'all' over every B·T position, prompt and padding included, as the reference tool does.
   */
  klPositions?: 'target' | 'all';
}

/**
 * nll: mean ce on the retain batch. kl: KL(p_ref ‖ p_θ) per position, with the frozen reference
 * log-probs `refLogprobs` [B, T, V] computed once before training.
 */
export function retainLoss(r: Scored, opts: RetainOptions, refLogprobs?: Tensor): Tensor | null {
  switch (opts.kind) {
    case 'none':
      return null;
    case 'nll':
      return batchCe(r);
    case 'kl': {
      if (!refLogprobs) throw new Error('retain kl needs the reference log-probs of the retain batch');
      const kl = o.sum(o.mul(o.exp(refLogprobs), o.sub(refLogprobs, o.logSoftmax(r.logits, -1))), -1); // [B, T]
      return opts.klPositions === 'all' ? o.mean(kl) : targetMean(kl, r.mask);
    }
  }
}
