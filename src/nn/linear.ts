// Linear layer: y = x·W (+ b). Weights live in the engine as [in, out], so the forward pass is one
// MatMul with no transpose; Hugging Face's nn.Linear [out, in] is transposed once on the host
// when a checkpoint is loaded or saved (GPT-2's Conv1D is already [in, out]).

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';

/** y = x·W (+ b) for x [..., in], W [in, out], b [out] → [..., out]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const y = o.matmul(x, w);
  return b ? o.add(y, b) : y;
}
