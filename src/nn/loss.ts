// Language-model losses, in one place: training (finetune, every unlearning objective), the
// tests and the benchmark all use these, so a benchmark measures the loss training runs.
// Shapes: B batch, T positions, V vocabulary, N scored positions; `logits[b, t]` predicts
// `labels[b, t]` (the next token).

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { headLabelLogprobs, slicedHeadOf } from './head.ts';

const sliced = new WeakMap<Tensor, Map<Tensor, Tensor>>();

/**
 * log p(label) at every position: logits [..., V], labels [...] int64 → [...]. Logits of a
 * large-vocabulary head (nn/head.ts) are taken slice by slice, never whole.
 */
export function tokenLogprobs(logits: Tensor, labels: Tensor): Tensor {
  const head = slicedHeadOf(logits);
  if (head) {
    let byLabels = sliced.get(logits);
    if (!byLabels) sliced.set(logits, (byLabels = new Map()));
    let t = byLabels.get(labels);
    if (!t) byLabels.set(labels, (t = headLabelLogprobs(head, labels)));
    return t;
  }
  const logp = o.logSoftmax(logits, -1);
  return o.squeeze(o.gatherElements(logp, o.unsqueeze(labels, -1), logits.shape.length - 1), -1);
}

/**
 * Mean of a per-position quantity over the positions where `mask` is 1: Σ x·m / max(Σ m, 1)
 * (a token-level mean, as the Hugging Face causal-LM loss; an empty mask gives 0, not NaN).
 * x and mask of the same shape; scalar.
 */
export function maskedMean(perPosition: Tensor, mask: Tensor): Tensor {
  return o.div(o.sum(o.mul(perPosition, mask)), o.maximum(o.sum(mask), 1));
}

/** Sequence log-prob Σ_t log p(y_t | …) over the masked (target) positions. logits [B, T, V] → [B]. */
export function sequenceLogprob(logits: Tensor, labels: Tensor, mask: Tensor): Tensor {
  return o.sum(o.mul(tokenLogprobs(logits, labels), mask), 1);
}

/**
 * Mean cross-entropy of `logits` [..., V] against `labels` [...] (int64) over the positions
 * where `mask` is 1; returns the scalar mean and the per-position negative log-probs (0 where
 * masked out).
 */
export function maskedCrossEntropy(logits: Tensor, labels: Tensor, mask: Tensor): { loss: Tensor; nll: Tensor } {
  const nll = o.neg(tokenLogprobs(logits, labels));
  return { loss: maskedMean(nll, mask), nll: o.mul(nll, mask) };
}

/**
 * Next-token loss of a causal LM, as Hugging Face's `labels=input_ids`: the mean over b and
 * t = 0..T−2 of −log softmax(logits[b, t])[ids[b, t+1]]. logits [B, T, V], ids [B, T] int64;
 * T may be symbolic (the shift is a gather, not a slice).
 */
export function nextTokenLoss(logits: Tensor, ids: Tensor): Tensor {
  const g = ids.graph;
  const [B, T] = ids.shape;
  const pos = o.range(g, T); // [T]
  const last = o.sub(o.sizeOf(g, [T], 'int64'), 1);
  const next = o.expand(o.unsqueeze(o.minimum(o.add(pos, 1), last), 0), [B, T]); // [B, T]
  const labels = o.gatherElements(ids, next, 1); // [B, T]: ids[b, t+1] (the last repeats)
  const mask = o.expand(o.unsqueeze(o.cast(o.less(pos, last), logits.dtype), 0), [B, T]); // [B, T]
  return maskedCrossEntropy(logits, labels, mask).loss;
}
