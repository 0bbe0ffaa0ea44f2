/**
 * The standard error lm-evaluation-harness reports for a mean-aggregated metric such as acc
 * (lm_eval/api/metrics.py, mean_stderr): sample standard deviation (Bessel, n − 1) over the
 * per-item values divided by √n. With fewer than two items it is undefined (the harness divides
 * by zero); here it is null with the reason.
 */
export interface MeanWithStderr {
  /** Mean of the per-item values; null when there are none. */
  value: number | null;
  /** sample_stddev / √n; null when n < 2. */
  stderr: number | null;
  n: number;
  perItem: number[];
  /** Why `value` is null. */
  unavailable?: string;
  /** Why `stderr` is null. */
  stderrUnavailable?: string;
}

export function meanWithStderr(perItem: readonly number[], what: string): MeanWithStderr {
  const n = perItem.length;
  if (n === 0) return { value: null, stderr: null, n, perItem: [], unavailable: `${what}: no items` };
  let sum = 0;
  for (const v of perItem) sum += v;
  const mean = sum / n;
  if (n < 2) return { value: mean, stderr: null, n, perItem: [...perItem], stderrUnavailable: `${what}: a standard error needs at least 2 items` };
  let squares = 0;
  for (const v of perItem) squares += (v - mean) ** 2;
  return { value: mean, stderr: Math.sqrt(squares / (n - 1)) / Math.sqrt(n), n, perItem: [...perItem] };
}
