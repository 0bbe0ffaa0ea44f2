// The shared math of unlearning objectives, in REFERENCE.md's notation. A sample is (x, y): only
// target tokens (mask 1) carry loss. Shapes: B batch, T positions, V vocabulary; `logits[b, t]`
// predicts `labels[b, t]` (the next token).

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { maskedMean, sequenceLogprob, tokenLogprobs as labelLogprobs } from '../nn/loss.ts';

/** A batch as graph tensors, scored by the model being unlearned. */
export interface Scored {
  logits: Tensor; // [B, T, V]
  labels: Tensor; // [B, T] int64
  mask: Tensor; // [B, T] 1 on target positions
  /** Hidden state after the method's block ℓ, when the method asks for it. [B, T, C] */
  hidden?: Tensor;
}

/** log p(label) at every position. [B, T] */
export function tokenLogprobs(s: Scored): Tensor {
  return labelLogprobs(s.logits, s.labels);
}

/** logp(θ; x, y) = Σ_t log p(y_t | …) over target tokens. [B] */
export function sequenceLogp(s: Scored): Tensor {
  return sequenceLogprob(s.logits, s.labels, s.mask);
}

/** Number of target tokens per sample, at least 1. [B] */
export function targetLengths(s: Scored): Tensor {
  return o.maximum(o.sum(s.mask, 1), 1);
}

/** ce = nll / |y| per sample. [B] */
export function sampleCe(s: Scored): Tensor {
  return o.div(o.neg(sequenceLogp(s)), targetLengths(s));
}

/**
 * Mean negative log-likelihood over all target tokens of the batch (a token-level mean, as the
 * Hugging Face causal-LM loss the published tools call). Scalar.
 */
export function batchCe(s: Scored): Tensor {
  return maskedMean(o.neg(tokenLogprobs(s)), s.mask);
}

/** Mean over target tokens of a per-position quantity [B, T]. Scalar. */
export const targetMean = maskedMean;

/** log σ(x), stable for large |x|: min(x, 0) − log(1 + e^{−|x|}). */
export function logSigmoid(x: Tensor): Tensor {
  return o.sub(o.minimum(x, 0), o.log(o.add(o.exp(o.neg(o.abs(x))), 1)));
}

/** −(2/β) · mean log σ(β · z): the DPO/NPO family's loss of a margin z. Scalar. */
export function dpoLoss(margin: Tensor, beta: number): Tensor {
  return o.mul(o.mean(logSigmoid(o.mul(margin, beta))), -2 / beta);
}

/**
 * CE(z_θ, target) = −Σ_v target_v · log softmax(z_θ)_v at each position, averaged over target
 * positions (UNDIAL, CE-U). `target` [B, T, V] carries no gradient.
 */
export function softTargetCe(s: Scored, target: Tensor): Tensor {
  const perPosition = o.neg(o.sum(o.mul(o.stopGradient(target), o.logSoftmax(s.logits, -1)), -1)); // [B, T]
  return targetMean(perPosition, s.mask);
}

/** One-hot of the labels as a float tensor like the logits. [B, T, V] */
export function oneHot(s: Scored): Tensor {
  const v = s.logits.shape[2];
  const ids = o.range(s.logits.graph, v); // [V]
  return o.cast(o.equal(o.unsqueeze(s.labels, -1), ids), s.logits.dtype);
}
