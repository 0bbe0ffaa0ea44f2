/**
 * What every metric returns (as open-unlearning's `{agg_value, value_by_index}`, typed): the
 * aggregate `value` and the per-item values it was made from. When the metric cannot be
 * computed (no retain model, no items), `value` is null and `unavailable` says why — never a
 * stand-in number.
 */
export interface MetricResult {
  value: number | null;
  perItem: number[];
  unavailable?: string;
}

/** The mean of per-item values, or null with a reason when there are none. */
export function meanResult(perItem: number[], what: string): MetricResult {
  if (perItem.length === 0) return { value: null, perItem, unavailable: `${what}: no items` };
  let sum = 0;
  for (const v of perItem) sum += v;
  return { value: sum / perItem.length, perItem };
}

export function unavailable(reason: string, perItem: number[] = []): MetricResult {
  return { value: null, perItem, unavailable: reason };
}
