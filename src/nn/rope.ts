// Rotary position embeddings (RoPE) in Hugging Face's rotate_half layout: within a head of size
// D, dimension i < D/2 is paired with i + D/2 and the pair is rotated by angle t·θ^(−2i/D) at
// position t:
//   x' = x·cos(cat(a, a)) + rotate_half(x)·sin(cat(a, a)),  rotate_half(x) = cat(−x[D/2:], x[:D/2]).
// Written here as x·cosT + swap(x)·sinT with swap(x) = cat(x[D/2:], x[:D/2]) and the sign folded
// into the table, sinT = cat(−sin a, sin a).
//
// The engine has no sin/cos op, so the tables are computed on the host once (in float64, then
// rounded: slightly more exact than transformers' float32 angles at long positions) for
// positions 0..L−1 and baked into the program as constants; the forward pass gathers the rows
// of its positions.

import type { HostTensor } from '../engine/dtype.ts';
import type { Graph, Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';

/** cos and signed-sin tables, each [L, D]. */
export interface RopeTables {
  cos: HostTensor;
  sin: HostTensor;
}

/** Host tables for positions 0..length−1, head size `headDim` (even), base `theta`. */
export function ropeTables(length: number, headDim: number, theta: number): RopeTables {
  const half = headDim / 2;
  const cos = new Float32Array(length * headDim);
  const sin = new Float32Array(length * headDim);
  for (let i = 0; i < half; i++) {
    const invFreq = Math.pow(theta, (-2 * i) / headDim);
    for (let t = 0; t < length; t++) {
      const a = t * invFreq;
      const c = Math.cos(a);
      const s = Math.sin(a);
      const row = t * headDim;
      cos[row + i] = c;
      cos[row + half + i] = c;
      sin[row + i] = -s;
      sin[row + half + i] = s;
    }
  }
  const shape = [length, headDim];
  return { cos: { dtype: 'float32', shape, data: cos }, sin: { dtype: 'float32', shape, data: sin } };
}

/** The angles of one forward pass: cos and signed sin for each position, [T, D] or [B, T, D]. */
export interface RopeAngles {
  cos: Tensor;
  sin: Tensor;
}

const tableCache = new WeakMap<Graph, Map<string, { cos: Tensor; sin: Tensor }>>();

/**
 * The angles at `positions` (int64 [T] or [B, T]); the tables become constants of `g` once per
 * graph, however many layers or forward passes use them.
 */
export function ropeAngles(g: Graph, positions: Tensor, length: number, headDim: number, theta: number): RopeAngles {
  let perGraph = tableCache.get(g);
  if (!perGraph) tableCache.set(g, (perGraph = new Map()));
  const key = `${length}:${headDim}:${theta}`;
  let tables = perGraph.get(key);
  if (!tables) {
    const host = ropeTables(length, headDim, theta);
    tables = { cos: g.constant(host.cos, `rope.cos.${key}`), sin: g.constant(host.sin, `rope.sin.${key}`) };
    perGraph.set(key, tables);
  }
  return { cos: o.gather(tables.cos, positions), sin: o.gather(tables.sin, positions) };
}

/**
 * Rotate x [B, T, ...heads, D] by `angles`; `headAxes` is how many head axes sit between T and D
 * (1 for [B, T, G, D], 2 for [B, T, G, R, D]).
 */
export function applyRope(x: Tensor, angles: RopeAngles, headAxes: number): Tensor {
  const d = x.shape[x.rank - 1] as number;
  const fit = (t: Tensor): Tensor => {
    // [T, D] or [B, T, D] → [1|B, T, 1…, D]
    const lead = t.rank === 2 ? [1, t.shape[0]] : [t.shape[0], t.shape[1]];
    return o.reshape(t, [...lead, ...Array<number>(headAxes).fill(1), d]);
  };
  const [x1, x2] = o.split(x, [d / 2, d / 2], -1);
  const swapped = o.concat([x2, x1], -1);
  return o.add(o.mul(x, fit(angles.cos)), o.mul(swapped, fit(angles.sin)));
}
