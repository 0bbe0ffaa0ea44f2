// Layers as functions of engine ops. Shapes: B batch, T sequence, C width, H heads, D head size.

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';

/** y = x·W (+ b); W is [in, out]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const y = o.matmul(x, w);
  return b ? o.add(y, b) : y;
}

/** LayerNorm over the last axis, biased variance (as PyTorch and GPT-2). */
export function layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
  const mu = o.mean(x, -1, true);
  const d = o.sub(x, mu);
  const variance = o.mean(o.pow(d, 2), -1, true);
  // Written as ORT's LayerNormalization fusion expects (Sub, Pow, ReduceMean, Add, Sqrt, Div).
  return o.add(o.mul(o.div(d, o.sqrt(o.add(variance, eps))), w), b);
}

/** RMSNorm: x · rsqrt(mean(x²) + eps) · w (Llama). */
export function rmsNorm(x: Tensor, w: Tensor, eps: number): Tensor {
  const ms = o.mean(o.pow(x, 2), -1, true);
  return o.mul(o.div(x, o.sqrt(o.add(ms, eps))), w);
}

/** GELU, exact: x·Φ(x) = 0.5·x·(1 + erf(x/√2)). */
export function gelu(x: Tensor): Tensor {
  return o.mul(o.mul(x, o.add(o.erf(o.div(x, Math.SQRT2)), 1)), 0.5);
}

/** GELU, tanh approximation (GPT-2's "gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(x: Tensor): Tensor {
  const inner = o.mul(o.add(x, o.mul(o.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return o.mul(o.mul(x, o.add(o.tanh(inner), 1)), 0.5);
}

/** SiLU: x·σ(x). */
export function silu(x: Tensor): Tensor {
  return o.mul(x, o.sigmoid(x));
}

/** Additive causal mask [T, T]: 0 where key ≤ query, −1e9 above the diagonal. */
export function causalMask(like: Tensor, t: number | string): Tensor {
  const pos = o.range(like.graph, t);
  const future = o.greater(o.unsqueeze(pos, 0), o.unsqueeze(pos, 1)); // [T, T]: key > query
  return o.where(future, like.graph.scalar(-1e9, like.dtype), like.graph.scalar(0, like.dtype));
}

/** [B, T, H·D] → [B, H, T, D] */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, t, c] = x.shape;
  return o.transpose(o.reshape(x, [b, t, heads, (c as number) / heads]), [0, 2, 1, 3]);
}

/** [B, H, T, D] → [B, T, H·D] */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, t, d] = x.shape;
  return o.reshape(o.transpose(x, [0, 2, 1, 3]), [b, t, (h as number) * (d as number)]);
}

/** softmax(q·kᵀ/√D + mask)·v for q, k, v of shape [B, H, T, D] (k, v may have fewer heads, repeated). */
export function attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor): Tensor {
  const d = q.shape[3] as number;
  const scores = o.add(o.mul(o.matmul(q, k, { transB: true }), 1 / Math.sqrt(d)), mask); // [B, H, T, T]
  return o.matmul(o.softmax(scores, -1), v); // [B, H, T, D]
}

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
