// Inverted dropout with the random numbers made inside the graph: each element's keep/drop draw
// is a hash of (seed, salt, its coordinates), so the host feeds one int64 seed per step instead
// of a noise tensor per layer, and a step can be replayed exactly from its seed.
//
// The hash works in int64 modulo the prime p = 2³¹ − 1, folding in one coordinate at a time with
// two rounds of the quadratic map h → h² + c (mod p): values stay below 2³¹, so h² fits in int64,
// and the map is not affine (an affine hash of the index would draw a lattice pattern, not
// independent-looking masks). Uniform u = h / p; an element is kept when u ≥ rate, and kept
// elements are scaled by 1/(1 − rate) so the expectation is unchanged.
//
// The hash costs about twenty int64 passes over the tensor, so it runs once per graph, seed,
// rate and shape (`keepMask`), not once per use: a use with salt s takes that mask rolled by
// s (mod the last axis) along the last axis, a copy of one byte per element. Two uses with
// different salts then read different, independent draws at every element. With a hash per
// adapter, LoRA dropout on a 16-layer model was 112 hashes: ONNX Runtime took 74–83 s instead
// of 14 s to create the session and the steps ran 2× slower (issue 15).

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

const masks = new WeakMap<Tensor, Map<string, Tensor>>();

/** The keep mask (bool, shape of x) of `seed` and `rate`, made once per shape and shared. */
function keepMask(x: Tensor, rate: number, seed: Tensor): Tensor {
  let bySeed = masks.get(seed);
  if (!bySeed) masks.set(seed, (bySeed = new Map()));
  const key = `${rate}:${x.dtype}:${x.shape.join(',')}`;
  let m = bySeed.get(key);
  if (!m) bySeed.set(key, (m = o.greaterOrEqual(hashUniform(x, seed, 0), rate)));
  return m;
}

/**
 * x with each element zeroed with probability `rate` and the rest scaled by 1/(1 − rate). Uses
 * with different salts (mod the size of the last axis) get different masks.
 */
export function dropout(x: Tensor, rate: number, seed: Tensor, salt: number): Tensor {
  if (rate <= 0) return x;
  const shared = keepMask(x, rate, seed);
  const last = x.rank - 1;
  const size = x.shape[last];
  const shift = typeof size === 'number' ? salt % size : 0;
  const keep = shift === 0 ? shared : o.concat([o.slice(shared, { axes: [last], starts: [shift], ends: [size] }), o.slice(shared, { axes: [last], starts: [0], ends: [shift] })], last);
  return o.where(keep, o.mul(x, 1 / (1 - rate)), 0);
}
