/**
 * A metric over repeated runs with different seeds (`--seeds N`): mean ± sample standard
 * deviation of the values that could be computed, and "passes in k of N" for a pass rule
 * (forget quality ≥ 0.05, say). A seed whose value is unavailable (null) counts in N, never as
 * a pass, and is left out of mean and sd. Pure functions: no model, no files.
 */

export interface SeedSummary {
  /** Runs (seeds), available or not. */
  runs: number;
  /** Runs with a finite value. */
  available: number;
  /** Mean of the available values; null when there are none. */
  mean: number | null;
  /** Sample standard deviation (n − 1 in the denominator); null below 2 available values. */
  sd: number | null;
  min: number | null;
  max: number | null;
  /** Runs that pass the rule, when one was given. */
  passes?: number;
}

/**
 * Mean, sd, range and (with `pass`) the number of passing runs of one metric over seeds.
 * `values[i]` is seed i's value; null, undefined or a non-finite number is unavailable.
 */
export function summariseSeeds(values: ReadonlyArray<number | null | undefined>, pass?: (value: number) => boolean): SeedSummary {
  const ok = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const n = ok.length;
  const mean = n > 0 ? ok.reduce((a, v) => a + v, 0) / n : null;
  let sd: number | null = null;
  if (n >= 2 && mean !== null) {
    let ss = 0;
    for (const v of ok) ss += (v - mean) ** 2;
    sd = Math.sqrt(ss / (n - 1));
  }
  const out: SeedSummary = {
    runs: values.length,
    available: n,
    mean,
    sd,
    min: n > 0 ? Math.min(...ok) : null,
    max: n > 0 ? Math.max(...ok) : null,
  };
  if (pass) out.passes = ok.filter((v) => pass(v)).length;
  return out;
}

/** k of N for a per-seed verdict that combines several metrics; null (unknown) never passes. */
export function passesInKOfN(verdicts: ReadonlyArray<boolean | null | undefined>): { passes: number; runs: number; all: boolean } {
  const passes = verdicts.filter((v) => v === true).length;
  return { passes, runs: verdicts.length, all: verdicts.length > 0 && passes === verdicts.length };
}

/**
 * "0.266 ± 0.041 (3 seeds), passes in 2 of 3" — `digits` significant digits; the sd is left out
 * below two available values, and the unavailable runs are named.
 */
export function formatSeedSummary(s: SeedSummary, digits = 3): string {
  if (s.mean === null) return `unavailable in all ${s.runs} runs`;
  const f = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? Number(v.toPrecision(digits)).toString() : v.toExponential(digits - 1));
  let text = s.sd === null ? f(s.mean) : `${f(s.mean)} ± ${f(s.sd)}`;
  text += ` (${s.available} seed${s.available === 1 ? '' : 's'}`;
  if (s.available < s.runs) text += `, unavailable in ${s.runs - s.available}`;
  text += ')';
  if (s.passes !== undefined) text += `, passes in ${s.passes} of ${s.runs}`;
  return text;
}
