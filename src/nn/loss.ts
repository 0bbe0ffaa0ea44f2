// Language-model losses. N = number of scored positions, V vocabulary.

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';

/**
 * Mean cross-entropy of `logits` [N, V] against `labels` [N] (int64), counting only positions
 * where `mask` [N] is 1; returns the scalar mean and the per-position negative log-probs.
 */
export function maskedCrossEntropy(logits: Tensor, labels: Tensor, mask: Tensor): { loss: Tensor; nll: Tensor } {
  const logp = o.logSoftmax(logits, -1);
  const picked = o.squeeze(o.gatherElements(logp, o.unsqueeze(labels, -1), -1), -1); // [N]
  const nll = o.mul(o.neg(picked), mask);
  const loss = o.div(o.sum(nll), o.maximum(o.sum(mask), 1));
  return { loss, nll };
}

/**
 * Next-token loss of a causal LM, as Hugging Face's `labels=input_ids`: the mean over b and
 * t = 0..T−2 of −log softmax(logits[b, t])[ids[b, t+1]]. logits [B, T, V], ids [B, T] int64;
 * T may be symbolic (the shift is a gather, not a slice).
 */
export function nextTokenLoss(logits: Tensor, ids: Tensor): Tensor {
  const g = ids.graph;
  const [B, T] = ids.shape;
  const V = logits.shape[2];
  const pos = o.range(g, T); // [T]
  const last = o.sub(o.sizeOf(g, [T], 'int64'), 1);
  const next = o.expand(o.unsqueeze(o.minimum(o.add(pos, 1), last), 0), [B, T]); // [B, T]
  const labels = o.gatherElements(ids, next, 1); // [B, T]: ids[b, t+1] (the last repeats)
  const mask = o.expand(o.unsqueeze(o.cast(o.less(pos, last), logits.dtype), 0), [B, T]); // [B, T]
  const { loss } = maskedCrossEntropy(o.reshape(logits, [-1, V]), o.reshape(labels, [-1]), o.reshape(mask, [-1]));
  return loss;
}
