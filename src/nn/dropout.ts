// Inverted dropout with the random numbers made inside the graph: each element's keep/drop draw
// is a hash of (seed, salt, its coordinates), so the host feeds one int64 seed per step instead
// of a noise tensor per layer, and a step can be replayed exactly from its seed.
//
// The hash works in int64 modulo the prime p = 2³¹ − 1, folding in one coordinate at a time with
// two rounds of the quadratic map h → h² + c (mod p): values stay below 2³¹, so h² fits in int64,
// and the map is not affine (an affine hash of the index would draw a lattice pattern, not
// independent-looking masks). Uniform u = h / p; an element is kept when u ≥ rate, and kept
// elements are scaled by 1/(1 − rate) so the expectation is unchanged.

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';

const P = 2147483647;

/** h mod p for 0 ≤ h < 2⁶³ (integer Div truncates, which is floor for non-negative values). */
function modP(h: Tensor): Tensor {
  return o.sub(h, o.mul(o.div(h, P), P));
}

/** Two rounds of h → h² + c (mod p), after reducing h below p so that h² fits in int64. */
function mix(h: Tensor): Tensor {
  const h0 = modP(h);
  const h1 = modP(o.add(o.mul(h0, h0), 1013904223));
  return modP(o.add(o.mul(h1, h1), 1664525));
}

/** Values in [0, 1), one per element of `shape`, from `seed` (int64 []) and a per-use `salt`. */
export function hashUniform(x: Tensor, seed: Tensor, salt: number): Tensor {
  const g = x.graph;
  let h = mix(o.add(o.mul(seed, 69069), (salt * 2654435761) % P)); // []
  x.shape.forEach((d, axis) => {
    const idx = o.reshape(o.range(g, d), x.shape.map((_, i) => (i === axis ? d : 1))); // [1…, d, 1…]
    h = mix(o.add(h, o.mul(idx, 40503)));
  });
  return o.div(o.cast(h, x.dtype), P);
}

/** x with each element zeroed with probability `rate` and the rest scaled by 1/(1 − rate). */
export function dropout(x: Tensor, rate: number, seed: Tensor, salt: number): Tensor {
  if (rate <= 0) return x;
  const keep = o.greaterOrEqual(hashUniform(x, seed, salt), rate);
  return o.where(keep, o.mul(x, 1 / (1 - rate)), 0);
}
