/**
 * Seeded percentile bootstrap over items (Efron & Tibshirani 1993, ch. 13): draw each group of
 * items with replacement, recompute the statistic on the drawn items, and report the
 * (1 − level)/2 and (1 + level)/2 quantiles of the recomputed values. The same interval that
 * `scipy.stats.bootstrap(..., method='percentile')` gives (and MUSE's evaluation logger reports
 * beside VerbMem and KnowMem); quantiles interpolate linearly between order statistics, as
 * numpy's default `percentile`.
 *
 * Groups are resampled independently, each item of a group drawn with probability 1/size. A
 * statistic of several per-item arrays over the SAME items (a forget item scored by two models;
 * Prob, ROUGE and truth ratio of one retain item) uses one group and applies the same indices to
 * every array, so items stay whole. Deterministic for a seed: the draws come from the project's
 * mulberry32 generator (src/engine/random.ts), group by group, resample by resample.
 *
 * A bootstrap interval describes how much the number moves with the choice of evaluated items;
 * it says nothing about training noise across seeds (see seeds.ts for that).
 */
import { LetheError } from '../../engine/errors.ts';
import { Rng } from '../../engine/random.ts';

/** Resamples drawn when none is given (scipy's default is 9999; 1000 keeps intervals cheap). */
export const BOOTSTRAP_RESAMPLES = 1000;
/** Coverage of the interval when none is given. */
export const BOOTSTRAP_LEVEL = 0.95;
/** Seed when none is given. */
export const BOOTSTRAP_SEED = 0;

export interface BootstrapOptions {
  /** Number of resamples (≥ 1); default 1000. */
  resamples?: number;
  /** Coverage in (0, 1); default 0.95. */
  level?: number;
  /** Seed of the resampling (any integer; taken modulo 2³²); default 0. */
  seed?: number;
  /**
   * 'percentile' (default), or 'bias-shifted': both quantiles minus the bootstrap estimate of
   * the statistic's bias, mean(resampled) − estimate (Efron & Tibshirani 1993, §10.2), for a
   * statistic that resampling pushes one way, such as the KS distance (a supremum: duplicated
   * items only make the two samples look further apart). Needs `estimate`.
   */
  method?: 'percentile' | 'bias-shifted';
  /** The statistic on the original items (the metric's value), for 'bias-shifted'. */
  estimate?: number;
}

/** A percentile bootstrap interval, in the units of the metric it belongs to. */
export interface Interval {
  lower: number;
  upper: number;
  /** Coverage, e.g. 0.95. */
  level: number;
  method: 'percentile bootstrap' | 'bias-shifted percentile bootstrap';
  /** Resamples whose statistic was a finite number (those the quantiles are taken over). */
  resamples: number;
  seed: number;
  /** What the resampling held fixed or how it paired items, when that is not the obvious. */
  note?: string;
}

/** Why a metric has no interval (fewer than two items, say). */
export interface IntervalUnavailable {
  unavailable: string;
}

export function isInterval(x: Interval | IntervalUnavailable | undefined): x is Interval {
  return x !== undefined && 'lower' in x;
}

/** Quantile q ∈ [0, 1] of ascending-sorted values, interpolating linearly (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new LetheError('quantile of no values');
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function resolve(options: BootstrapOptions): { resamples: number; level: number; seed: number } {
  const resamples = options.resamples ?? BOOTSTRAP_RESAMPLES;
  const level = options.level ?? BOOTSTRAP_LEVEL;
  const seed = options.seed ?? BOOTSTRAP_SEED;
  if (!Number.isInteger(resamples) || resamples < 1) throw new LetheError(`bootstrap: resamples is ${resamples}; expected an integer ≥ 1`);
  if (!(level > 0 && level < 1)) throw new LetheError(`bootstrap: level is ${level}; expected a number in (0, 1)`);
  if (!Number.isInteger(seed)) throw new LetheError(`bootstrap: seed is ${seed}; expected an integer`);
  if (options.method === 'bias-shifted' && !Number.isFinite(options.estimate)) throw new LetheError('bootstrap: the bias-shifted interval needs the estimate');
  return { resamples, level, seed };
}

/**
 * The percentile interval of `statistic` over item resamples. `sizes[g]` is the number of items
 * of group g; each resample passes `indices[g]` (length sizes[g], values in [0, sizes[g])) and
 * the statistic reads its per-item arrays at those indices. Resamples whose statistic is not
 * finite are dropped; if more than half are, or a group has fewer than 2 items, the result is
 * unavailable with the reason (one item has no spread to resample).
 */
export function bootstrapInterval(
  sizes: readonly number[],
  statistic: (indices: readonly Int32Array[]) => number,
  options: BootstrapOptions = {},
): Interval | IntervalUnavailable {
  const { resamples, level, seed } = resolve(options);
  if (sizes.length === 0) throw new LetheError('bootstrap: no groups of items');
  const small = sizes.findIndex((s) => s < 2);
  if (small >= 0) return { unavailable: `a bootstrap interval needs at least 2 items${sizes.length > 1 ? ' per group' : ''}; there ${sizes[small] === 1 ? 'is 1' : `are ${sizes[small]}`}` };
  const rng = new Rng(seed);
  const indices = sizes.map((s) => new Int32Array(s));
  const values = new Float64Array(resamples);
  let kept = 0;
  for (let r = 0; r < resamples; r++) {
    for (let g = 0; g < sizes.length; g++) {
      const idx = indices[g];
      const n = sizes[g];
      for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    }
    const v = statistic(indices);
    if (Number.isFinite(v)) values[kept++] = v;
  }
  if (kept * 2 < resamples) return { unavailable: `the statistic was not a finite number on ${resamples - kept} of ${resamples} bootstrap resamples` };
  const sorted = values.subarray(0, kept).sort();
  let shift = 0;
  if (options.method === 'bias-shifted') {
    let sum = 0;
    for (const v of sorted) sum += v;
    shift = sum / kept - options.estimate!;
  }
  const method = options.method === 'bias-shifted' ? 'bias-shifted percentile bootstrap' : 'percentile bootstrap';
  return { lower: quantileSorted(sorted, (1 - level) / 2) - shift, upper: quantileSorted(sorted, (1 + level) / 2) - shift, level, method, resamples: kept, seed };
}

/** The interval of the mean of per-item values. */
export function meanInterval(values: ArrayLike<number>, options: BootstrapOptions = {}): Interval | IntervalUnavailable {
  const x = Float64Array.from(values);
  return bootstrapInterval([x.length], ([idx]) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) s += x[idx[i]];
    return s / idx.length;
  }, options);
}

/** Pick `values` at `indices` (a resample of one group). */
export function pick(values: ArrayLike<number>, indices: Int32Array): Float64Array {
  const out = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = values[indices[i]];
  return out;
}
