// LoRA (Hu et al. 2021): a frozen weight W [in, out] plus a trainable low-rank update,
//   y = x·W + (α/r)·(dropout(x)·A)·B,   A [in, r], B [r, out],
// with B = 0 at the start so the adapted model equals the base model, and A drawn as PEFT does
// (kaiming_uniform with a = √5 on its [r, in] weight: U(−1/√in, 1/√in)). After training the
// update is merged on the host, W' = W + (α/r)·A·B, and the model saves as a plain checkpoint.
// A and B are stored like every engine weight, [in, out]-style (PEFT's lora_A.weight [r, in] and
// lora_B.weight [out, r] are their transposes).

import type { HostTensor } from '../engine/dtype.ts';
import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import type { Rng } from '../engine/random.ts';
import { dropout } from './dropout.ts';

export interface LoraOptions {
  /** Rank r of the update: trainable parameters per adapted [in, out] weight are r·(in + out). */
  r: number;
  /** The update is scaled by alpha / r, so changing r does not change the step size much. */
  alpha: number;
  /** Dropout on the adapter's input while training (0.05 in TOFU's recipe); 0 turns it off. */
  dropout: number;
}

/** Dropout of an adapter's input: a rate, the step's seed (int64 []) and a per-adapter salt. */
export interface LoraDropout {
  rate: number;
  seed: Tensor;
  salt: number;
}

/** The update (α/r)·(dropout(x)·A)·B for x [..., in] → [..., out]. */
export function loraDelta(x: Tensor, a: Tensor, b: Tensor, scale: number, drop?: LoraDropout): Tensor {
  const xin = drop && drop.rate > 0 ? dropout(x, drop.rate, drop.seed, drop.salt) : x;
  return o.mul(o.matmul(o.matmul(xin, a), b), scale); // [..., r] then [..., out]
}

/** A's initial value, [in, r]: U(−1/√in, 1/√in) (PEFT's kaiming_uniform(a=√5) bound). */
export function initLoraA(inDim: number, r: number, rng: Rng): HostTensor {
  const bound = 1 / Math.sqrt(inDim);
  const data = new Float32Array(inDim * r);
  for (let i = 0; i < data.length; i++) data[i] = (2 * rng.next() - 1) * bound;
  return { dtype: 'float32', shape: [inDim, r], data };
}

/** W + scale·A·B on the host (accumulated in float64), for W [in, out], A [in, r], B [r, out]. */
export function mergeLoraWeight(w: HostTensor, a: HostTensor, b: HostTensor, scale: number): HostTensor {
  const [inDim, outDim] = w.shape;
  const r = a.shape[1];
  const W = w.data as Float32Array;
  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  const out = new Float32Array(W.length);
  const row = new Float64Array(outDim);
  for (let i = 0; i < inDim; i++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const aik = A[i * r + k];
      if (aik === 0) continue;
      const bk = k * outDim;
      for (let j = 0; j < outDim; j++) row[j] += aik * B[bk + j];
    }
    for (let j = 0; j < outDim; j++) out[i * outDim + j] = W[i * outDim + j] + scale * row[j];
  }
  return { dtype: 'float32', shape: [inDim, outDim], data: out };
}
