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

/**
 * The standard error the harness reports for a group of subtasks (lm_eval/api/metrics.py,
 * pooled_sample_stderr, used for groups such as `mmlu` with weight_by_size): the within-subtask
 * pooled variance s_p² = Σ_i (n_i − 1)·se_i²·n_i / (N − k), then √(s_p² / N), N = Σ n_i, k
 * subtasks. It leaves out the spread between the subtasks' means, so it is a little smaller than
 * the standard error of all items taken together. Null when any part has no standard error.
 */
export function pooledStderr(parts: readonly Pick<MeanWithStderr, 'stderr' | 'n'>[]): number | null {
  if (parts.length === 0 || parts.some((p) => p.stderr === null)) return null;
  const total = parts.reduce((a, p) => a + p.n, 0);
  if (total - parts.length <= 0) return null;
  const pooledVariance = parts.reduce((a, p) => a + (p.n - 1) * p.stderr! ** 2 * p.n, 0) / (total - parts.length);
  return Math.sqrt(pooledVariance / total);
}
