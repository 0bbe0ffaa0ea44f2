// Normalisation layers over the last axis (the width C).

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';

/** LayerNorm, biased variance (as PyTorch and GPT-2): (x − μ) / √(σ² + eps) · w + b. */
export function layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
  const mu = o.mean(x, -1, true);
  const d = o.sub(x, mu);
  const variance = o.mean(o.pow(d, 2), -1, true);
  // Written as ORT's LayerNormalization fusion expects (Sub, Pow, ReduceMean, Add, Sqrt, Div).
  return o.add(o.mul(o.div(d, o.sqrt(o.add(variance, eps))), w), b);
}

/** RMSNorm (Llama): x / √(mean(x²) + eps) · w; with `offset` 1, · (1 + w) (Gemma, whose weights sit around 0). */
export function rmsNorm(x: Tensor, w: Tensor, eps: number, offset = 0): Tensor {
  const ms = o.mean(o.pow(x, 2), -1, true);
  return o.mul(o.div(x, o.sqrt(o.add(ms, eps))), offset ? o.add(w, offset) : w);
}
