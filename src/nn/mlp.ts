// The two MLPs of the architectures lethe runs. Projections are passed in as functions so that
// the caller decides what a projection is (a plain linear, or one with a LoRA adapter).

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';

/** A projection [..., in] → [..., out]. */
export type Projection = (x: Tensor) => Tensor;

/** GPT-2: down(act(up(x))); act is GELU (exact or tanh). [B, T, C] → [B, T, C] through [B, T, I]. */
export function mlp(x: Tensor, up: Projection, down: Projection, act: (x: Tensor) => Tensor): Tensor {
  return down(act(up(x)));
}

/** Llama family (SwiGLU with act = SiLU): down(act(gate(x)) ⊙ up(x)). */
export function gatedMlp(x: Tensor, gate: Projection, up: Projection, down: Projection, act: (x: Tensor) => Tensor): Tensor {
  return down(o.mul(act(gate(x)), up(x)));
}
