// Nonlinearities of the MLPs, by the names model configs use.

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';

/** GELU, exact: x·Φ(x) = 0.5·x·(1 + erf(x/√2)). */
export function gelu(x: Tensor): Tensor {
  return o.mul(o.mul(x, o.add(o.erf(o.div(x, Math.SQRT2)), 1)), 0.5);
}

/** GELU, tanh approximation (GPT-2's "gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(x: Tensor): Tensor {
  const inner = o.mul(o.add(x, o.mul(o.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return o.mul(o.mul(x, o.add(o.tanh(inner), 1)), 0.5);
}

/** SiLU (swish): x·σ(x). */
export function silu(x: Tensor): Tensor {
  return o.mul(x, o.sigmoid(x));
}

export type ActivationName = 'gelu' | 'gelu_tanh' | 'relu' | 'silu';

export const ACTIVATIONS: Record<ActivationName, (x: Tensor) => Tensor> = {
  gelu,
  gelu_tanh: geluTanh,
  relu: o.relu,
  silu,
};
