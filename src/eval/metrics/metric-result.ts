/**
 * What every metric returns (as open-unlearning's `{agg_value, value_by_index}`, typed, plus what
 * a reader needs to trust it):
 *  - `value`: the aggregate; null when it cannot be computed, and then `unavailable` says why
 *    (no retain model, no items) — never a stand-in number;
 *  - `perItem`: the per-item values it was made from (what each metric's doc comment says they
 *    are; model utility lists its nine component numbers);
 *  - `n`: how many items the value was computed on (for a two-sample metric, the items of the
 *    evaluated set: forget items of an AUC or of forget quality; `groups` has both sides);
 *  - `skipped`: items the protocol excluded (a text too short for VerbMem's prefix and
 *    continuation, a question whose prompt does not fit the context), counted, with the reason;
 *  - `interval`: a 95% percentile bootstrap interval over items (src/eval/stats/bootstrap.ts),
 *    or why there is none (fewer than two items);
 *  - `groups`: per-item values of each sample of a two-sample metric (an AUC's forget and
 *    holdout scores), kept so that a later comparison (PrivLeak) can resample them.
 */
import { meanInterval, type BootstrapOptions, type Interval, type IntervalUnavailable } from '../stats/bootstrap.ts';

export type { Interval, IntervalUnavailable, BootstrapOptions };

/** Items a protocol left out, and why. */
export interface Skipped {
  count: number;
  reason: string;
}

export interface MetricResult {
  value: number | null;
  perItem: number[];
  /** Items the value was computed on (0 when unavailable for want of items). */
  n: number;
  skipped?: Skipped;
  interval?: Interval | IntervalUnavailable;
  groups?: Record<string, number[]>;
  unavailable?: string;
}

/** Options every metric function takes: the bootstrap's (false: no interval). */
export interface MetricOptions {
  bootstrap?: BootstrapOptions | false;
}

/**
 * The mean of per-item values with its bootstrap interval (unless `bootstrap` is false), or
 * null with a reason when there are none.
 */
export function meanResult(perItem: number[], what: string, options: MetricOptions = {}): MetricResult {
  if (perItem.length === 0) return { value: null, perItem, n: 0, unavailable: `${what}: no items` };
  let sum = 0;
  for (const v of perItem) sum += v;
  const out: MetricResult = { value: sum / perItem.length, perItem, n: perItem.length };
  if (options.bootstrap !== false) out.interval = meanInterval(perItem, options.bootstrap ?? {});
  return out;
}

export function unavailable(reason: string, perItem: number[] = [], n = 0): MetricResult {
  return { value: null, perItem, n, unavailable: reason };
}

/** `result` with `skipped` set when any item was skipped; an unavailable reason names the skipped items too. */
export function withSkipped(result: MetricResult, skipped: Skipped | undefined): MetricResult {
  if (!skipped || skipped.count === 0) return result;
  const out: MetricResult = { ...result, skipped };
  if (out.value === null) out.unavailable = `${out.unavailable ?? 'no items'}; ${skipped.count} skipped: ${skipped.reason}`;
  return out;
}

/** "0.116 [0.071, 0.162] (n = 11; 9 skipped)", for terminal summaries. */
export function formatMetric(m: MetricResult, digits = 3): string {
  if (m.value === null) return `unavailable (${m.unavailable ?? 'no reason given'})`;
  const f = (v: number) => (v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(digits - 1) : Number(v.toPrecision(digits)).toString());
  let text = f(m.value);
  if (m.interval && 'lower' in m.interval) text += ` [${f(m.interval.lower)}, ${f(m.interval.upper)}]`;
  text += ` (n = ${m.n}${m.skipped ? `; ${m.skipped.count} skipped` : ''})`;
  return text;
}
