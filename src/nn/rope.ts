// Rotary position embeddings (RoPE) in Hugging Face's rotate_half layout: within the rotated part
// of a head (its first R = rotaryDim dimensions; R = D except for partial rotary), dimension
// i < R/2 is paired with i + R/2 and the pair is rotated by angle t·f_i at position t:
//   x' = x·cos(cat(a, a)) + rotate_half(x)·sin(cat(a, a)),  rotate_half(x) = cat(−x[R/2:], x[:R/2]).
// Written here as x·cosT + swap(x)·sinT with swap(x) = cat(x[R/2:], x[:R/2]) and the sign folded
// into the table, sinT = cat(−sin a, sin a). Dimensions R..D−1 pass through unrotated.
//
// Frequencies f_i = θ^(−2i/R), changed by the RoPE scaling a config names (transformers'
// modeling_rope_utils.py, `rope_scaling.rope_type`):
//   linear (Chen et al. 2023, position interpolation): f_i / factor;
//   dynamic (NTK-aware, /u/emozilla): θ' = θ·(factor·L/L₀ − (factor − 1))^(R/(R−2)) once the
//     context L used exceeds the original L₀ (else unchanged);
//   yarn (Peng et al. 2023): per frequency a ramp between f_i and f_i/factor over the
//     dimensions whose rotations in L₀ positions lie between beta_slow and beta_fast, and cos/sin
//     multiplied by the attention factor (0.1·ln(factor) + 1, or mscale/mscale_all_dim's ratio);
//   longrope (Phi-3 "su"/"longrope"): f_i / short_factor[i] up to L₀ positions, f_i /
//     long_factor[i] when the context used exceeds L₀, and cos/sin multiplied by
//     √(1 + ln(L/L₀)/ln L₀) (L = max_position_embeddings) unless attention_factor is given;
//   llama3 (Llama 3.1/3.2): frequencies whose wavelength exceeds L₀/low_freq_factor divided by
//     factor, those below L₀/high_freq_factor kept, a smooth blend between.
// dynamic and longrope depend on the context actually used: HF recomputes them from the longest
// position of each call; here the length the tables are built for stands for it (the same
// values for a sequence that spans that length).
//
// The engine has no sin/cos op, so the tables are computed on the host (in float64, then
// rounded) for positions 0..L−1 and baked into the program as constants; the forward pass
// gathers the rows of its positions. Past DIRECT_ROWS positions a table would be large (Llama
// 3.1's 131072 × 128 is 64 MB each), so longer ranges store two small tables, for t mod K and
// ⌊t/K⌋·K, and combine them in the graph with cos(a+b) = cos a·cos b − sin a·sin b and
// sin(a+b) = sin a·cos b + cos a·sin b: O(√L) rows instead of L.

import type { HostTensor } from '../engine/dtype.ts';
import { LetheError } from '../engine/errors.ts';
import type { Graph, Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';

/** RoPE scaling as config.json's `rope_scaling` describes it (see the header for each type's formula). */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'dynamic'; factor: number; originalMaxPositions: number }
  | {
      type: 'yarn';
      factor: number;
      originalMaxPositions: number;
      betaFast: number;
      betaSlow: number;
      /** Multiplies cos and sin. */
      attentionFactor: number;
      /** Round the ramp's ends outward to whole dimensions (transformers' default). */
      truncate: boolean;
    }
  | { type: 'longrope'; shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

/** Everything the rotation depends on. */
export interface RopeSpec {
  /** Base θ of the frequencies. */
  theta: number;
  /** Rotated dimensions R of a head (even, ≤ head size); the rest pass through. */
  rotaryDim: number;
  scaling?: RopeScaling | null;
}

/** Longest position range a table may cover: beyond it a config value is not a context length. */
export const MAX_ROPE_POSITIONS = 2 ** 27;
/** Up to this many positions one direct table; beyond, the two-level tables (see the header). */
const DIRECT_ROWS = 8192;

/** The frequencies f_i (i < R/2) for tables covering `length` positions, and the factor on cos/sin. */
export function ropeFrequencies(spec: RopeSpec, length: number): { invFreq: Float64Array; attentionFactor: number } {
  const R = spec.rotaryDim;
  const half = R / 2;
  const s = spec.scaling ?? null;
  let theta = spec.theta;
  if (s?.type === 'dynamic' && length > s.originalMaxPositions) {
    theta *= Math.pow((s.factor * length) / s.originalMaxPositions - (s.factor - 1), R / (R - 2));
  }
  const base = Float64Array.from({ length: half }, (_, i) => Math.pow(theta, (-2 * i) / R));
  if (!s || s.type === 'dynamic') return { invFreq: base, attentionFactor: 1 };
  switch (s.type) {
    case 'linear':
      return { invFreq: base.map((f) => f / s.factor), attentionFactor: 1 };
    case 'llama3': {
      const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
      const highWavelen = s.originalMaxPositions / s.highFreqFactor;
      const invFreq = base.map((f) => {
        const wavelen = (2 * Math.PI) / f;
        if (wavelen < highWavelen) return f;
        if (wavelen > lowWavelen) return f / s.factor;
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        return (1 - smooth) * (f / s.factor) + smooth * f;
      });
      return { invFreq, attentionFactor: 1 };
    }
    case 'yarn': {
      // Dimension whose frequency makes `rotations` turns in L₀ positions.
      const dimFor = (rotations: number) => (R * Math.log(s.originalMaxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(spec.theta));
      let low = dimFor(s.betaFast);
      let high = dimFor(s.betaSlow);
      if (s.truncate) [low, high] = [Math.floor(low), Math.ceil(high)];
      low = Math.max(low, 0);
      high = Math.min(high, R - 1);
      if (low === high) high += 0.001;
      const invFreq = base.map((f, i) => {
        const extrapolation = 1 - Math.min(1, Math.max(0, (i - low) / (high - low)));
        return (f / s.factor) * (1 - extrapolation) + f * extrapolation;
      });
      return { invFreq, attentionFactor: s.attentionFactor };
    }
    case 'longrope': {
      const ext = length > s.originalMaxPositions ? s.longFactor : s.shortFactor;
      return { invFreq: base.map((f, i) => f / ext[i]), attentionFactor: s.attentionFactor };
    }
  }
}

/** cos and signed-sin tables, each [L, R]. */
export interface RopeTables {
  cos: HostTensor;
  sin: HostTensor;
}

function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 1 || length > MAX_ROPE_POSITIONS) {
    throw new LetheError(`RoPE: a context of ${length} positions is outside 1..${MAX_ROPE_POSITIONS} (check max_position_embeddings or the context length asked for)`);
  }
}

/** Rows `from`..`from + rows − 1` (times `step`) of the tables with these frequencies. */
function tableRows(invFreq: Float64Array, attentionFactor: number, rows: number, step = 1): RopeTables {
  const half = invFreq.length;
  const R = 2 * half;
  const cos = new Float32Array(rows * R);
  const sin = new Float32Array(rows * R);
  for (let i = 0; i < half; i++) {
    for (let t = 0; t < rows; t++) {
      const a = t * step * invFreq[i];
      const c = Math.cos(a) * attentionFactor;
      const s = Math.sin(a) * attentionFactor;
      const row = t * R;
      cos[row + i] = c;
      cos[row + half + i] = c;
      sin[row + i] = -s;
      sin[row + half + i] = s;
    }
  }
  const shape = [rows, R];
  return { cos: { dtype: 'float32', shape, data: cos }, sin: { dtype: 'float32', shape, data: sin } };
}

/**
 * Host tables for positions 0..length−1: head size `headDim` (all rotated) and base `theta`, or
 * a full RopeSpec. LetheError when `length` is not a sane context (1..MAX_ROPE_POSITIONS).
 */
export function ropeTables(length: number, headDim: number, theta: number | RopeSpec): RopeTables {
  checkLength(length);
  const spec: RopeSpec = typeof theta === 'number' ? { theta, rotaryDim: headDim } : theta;
  const { invFreq, attentionFactor } = ropeFrequencies(spec, length);
  return tableRows(invFreq, attentionFactor, length);
}

/** The angles of one forward pass: cos and signed sin for each position, [T, R] or [B, T, R]. */
export interface RopeAngles {
  cos: Tensor;
  sin: Tensor;
}

type GraphTables = { direct: RopeAngles } | { low: RopeAngles; high: RopeAngles; k: number };
const tableCache = new WeakMap<Graph, Map<string, GraphTables>>();

/**
 * The angles at `positions` (int64 [T] or [B, T]) for a context of `length` positions; the tables
 * become constants of `g` once per graph, however many layers or forward passes use them.
 * `spec` is a RopeSpec, or θ with every one of `headDim` dimensions rotated. With dynamic or
 * longrope scaling and a context longer than the original, the pass picks in the graph, from
 * its largest position, the unscaled (short) angles or the scaled (long) ones, as HF does per call.
 */
export function ropeAngles(g: Graph, positions: Tensor, length: number, headDim: number, spec: number | RopeSpec): RopeAngles {
  checkLength(length);
  const full: RopeSpec = typeof spec === 'number' ? { theta: spec, rotaryDim: headDim } : spec;
  const s = full.scaling ?? null;
  const long = anglesAt(g, positions, full, length, length);
  if ((s?.type !== 'dynamic' && s?.type !== 'longrope') || length <= s.originalMaxPositions) return long;
  const short = anglesAt(g, positions, full, s.originalMaxPositions, length);
  const isLong = o.greaterOrEqual(o.reduceMax(o.cast(o.reshape(positions, [-1]), 'float32'), 0, false), s.originalMaxPositions); // []
  return { cos: o.where(isLong, long.cos, short.cos), sin: o.where(isLong, long.sin, short.sin) };
}

/** The angles of the frequencies for a context of `context` positions, from tables of `rows` rows. */
function anglesAt(g: Graph, positions: Tensor, spec: RopeSpec, context: number, rows: number): RopeAngles {
  let perGraph = tableCache.get(g);
  if (!perGraph) tableCache.set(g, (perGraph = new Map()));
  const key = `${context}:${rows}:${JSON.stringify(spec)}`;
  let tables = perGraph.get(key);
  if (!tables) {
    const { invFreq, attentionFactor } = ropeFrequencies(spec, context);
    const constant = (t: RopeTables, name: string): RopeAngles => ({ cos: g.constant(t.cos, `rope.cos.${name}`), sin: g.constant(t.sin, `rope.sin.${name}`) });
    const id = `${perGraph.size}`;
    if (rows <= DIRECT_ROWS) {
      tables = { direct: constant(tableRows(invFreq, attentionFactor, rows), id) };
    } else {
      const k = Math.ceil(Math.sqrt(rows));
      // The attention factor multiplies the product once: on the low table only.
      tables = {
        k,
        low: constant(tableRows(invFreq, attentionFactor, k), `${id}.low`),
        high: constant(tableRows(invFreq, 1, Math.ceil(rows / k), k), `${id}.high`),
      };
    }
    perGraph.set(key, tables);
  }
  if ('direct' in tables) return { cos: o.gather(tables.direct.cos, positions), sin: o.gather(tables.direct.sin, positions) };
  const { low, high, k } = tables;
  const q = o.div(positions, k); // integer division: ⌊t/K⌋ for t ≥ 0
  const r = o.sub(positions, o.mul(q, k));
  const [cl, sl, ch, sh] = [o.gather(low.cos, r), o.gather(low.sin, r), o.gather(high.cos, q), o.gather(high.sin, q)];
  // With the sign folded into the sine tables, both halves follow one rule:
  // cos(a+b) = ca·cb − (±sa)(±sb), ±sin(a+b) = (±sa)·cb + ca·(±sb).
  return { cos: o.sub(o.mul(cl, ch), o.mul(sl, sh)), sin: o.add(o.mul(sl, ch), o.mul(cl, sh)) };
}

/**
 * Rotate x [B, T, ...heads, D] by `angles` ([.., R] with R ≤ D: dimensions past R pass
 * through); `headAxes` is how many head axes sit between T and D (1 for [B, T, G, D], 2 for
 * [B, T, G, R, D]).
 */
export function applyRope(x: Tensor, angles: RopeAngles, headAxes: number): Tensor {
  const d = x.shape[x.rank - 1] as number;
  const r = angles.cos.shape[angles.cos.rank - 1] as number;
  const fit = (t: Tensor): Tensor => {
    // [T, R] or [B, T, R] → [1|B, T, 1…, R]
    const lead = t.rank === 2 ? [1, t.shape[0]] : [t.shape[0], t.shape[1]];
    return o.reshape(t, [...lead, ...Array<number>(headAxes).fill(1), r]);
  };
  const [rot, pass] = r === d ? [x, null] : o.split(x, [r, d - r], -1);
  const [x1, x2] = o.split(rot, [r / 2, r / 2], -1);
  const swapped = o.concat([x2, x1], -1);
  const y = o.add(o.mul(rot, fit(angles.cos)), o.mul(swapped, fit(angles.sin)));
  return pass ? o.concat([y, pass], -1) : y;
}
