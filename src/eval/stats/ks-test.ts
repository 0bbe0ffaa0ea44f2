/**
 * Two-sample Kolmogorov–Smirnov test, two-sided, with the p-value `scipy.stats.ks_2samp(x, y)`
 * gives by default (method 'auto'; checked against SciPy 1.10):
 *  - D = max_t |F_x(t) − F_y(t)| over the pooled values, ties counted on both sides;
 *  - exact when max(n1, n2) ≤ 10000: D is snapped to h / lcm(n1, n2) and the p-value is the
 *    share of lattice paths from (0,0) to (n1,n2) that leave the band |x/n1 − y/n2| < D
 *    (Hodges 1958; for n1 ≠ n2 the recursion for 1 − p of Viehmann 2021, for n1 = n2 the
 *    alternating binomial sum);
 *  - otherwise (or if the exact value is not a probability) asymptotic:
 *    P(D_m ≥ D) of the one-sample statistic with m = round-half-even(n1·n2/(n1+n2)).
 * TOFU's forget quality is this p-value on 40–400 truth ratios per side: always exact.
 */
import { LetheError } from '../../engine/errors.ts';
import { kolmogorovSf } from './kolmogorov-sf.ts';

export interface KsResult {
  /** D, the largest distance between the two empirical CDFs. */
  statistic: number;
  /** P(D ≥ observed) under the hypothesis that both samples come from one distribution. */
  pValue: number;
  method: 'exact' | 'asymp';
}

/** scipy's MAX_AUTO_N: the largest sample size for which 'auto' tries the exact p-value. */
const MAX_EXACT_N = 10000;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** P(D ≥ h/n) for two samples of size n (the band is a square): 2·Σ_k (−1)^(k−1) C(2n, n−kh)/C(2n, n) in Horner form. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * Share of lattice paths from (0,0) to (m,n) that touch |x/m − y/n| ≥ h/lcm(m,n), computed
 * column by column as 1 − (paths inside) with each entry already divided by C(x+y, y), so
 * nothing overflows (Viehmann 2021).
 */
function probOutsideBand(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const A = new Float64Array(Math.min(2 * maxj + 2, n + 1)).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1];
}

function checkSample(name: string, xs: ArrayLike<number>): Float64Array {
  if (xs.length === 0) throw new LetheError(`ks test: sample ${name} is empty`);
  const sorted = Float64Array.from(xs);
  if (sorted.some(Number.isNaN)) throw new LetheError(`ks test: sample ${name} contains NaN`);
  return sorted.sort();
}

/** Two-sided two-sample KS test of x against y, p-value as scipy's `ks_2samp(x, y)`. */
export function ksTwoSample(x: ArrayLike<number>, y: ArrayLike<number>): KsResult {
  const { h, n1, n2, d } = distance(checkSample('x', x), checkSample('y', y));
  return pValueOfLattice(h, n1, n2, d);
}

/** D alone, without its p-value (what a bootstrap of forget quality recomputes per resample). */
export function ksStatistic(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return distance(checkSample('x', x), checkSample('y', y)).d;
}

/** D of two sorted samples, and h = D·lcm(n1, n2) as an exact integer. */
function distance(a: Float64Array, b: Float64Array): { h: number; n1: number; n2: number; d: number } {
  const n1 = a.length;
  const n2 = b.length;
  // Walk the pooled values in order; after all copies of a value, i and j are the counts ≤ it.
  let i = 0, j = 0;
  let dPlus = 0, dMinus = 0; // max of F_x − F_y and of F_y − F_x
  let iPlus = 0, jPlus = 0, iMinus = 0, jMinus = 0;
  while (i < n1 || j < n2) {
    const t = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    while (i < n1 && a[i] === t) i++;
    while (j < n2 && b[j] === t) j++;
    const diff = i / n1 - j / n2;
    if (diff > dPlus) [dPlus, iPlus, jPlus] = [diff, i, j];
    if (-diff > dMinus) [dMinus, iMinus, jMinus] = [-diff, i, j];
  }
  const useMinus = dMinus > dPlus;
  // d·lcm is the integer |i·n2 − j·n1| / g; computing it in integers avoids rounding.
  const [ci, cj] = useMinus ? [iMinus, jMinus] : [iPlus, jPlus];
  const g = gcd(n1, n2);
  const h = Math.abs(ci * n2 - cj * n1) / g;
  return { h, n1, n2, d: h / ((n1 / g) * n2) };
}

/**
 * The two-sided p-value P(D ≥ d) of a KS distance d between samples of sizes n1 and n2, as
 * `ksTwoSample` computes it: exact on the lattice of multiples of 1/lcm(n1, n2), asymptotic
 * above 10000 items. A d between lattice points is taken up to the next one ('ceil', the
 * survival function itself) or to the nearest ('nearest', for a distance that is an estimate,
 * such as an interval's end). d ≤ 0 gives 1.
 */
export function ksPValue(d: number, n1: number, n2: number, lattice: 'ceil' | 'nearest' = 'ceil'): KsResult {
  if (!(Number.isInteger(n1) && Number.isInteger(n2) && n1 > 0 && n2 > 0)) throw new LetheError(`ks p-value: sample sizes ${n1} and ${n2}; expected positive integers`);
  if (Number.isNaN(d)) throw new LetheError('ks p-value: the distance is NaN');
  const lcm = (n1 / gcd(n1, n2)) * n2;
  const x = Math.min(Math.max(d, 0), 1) * lcm;
  const h = lattice === 'nearest' || Math.abs(x - Math.round(x)) < 1e-9 ? Math.round(x) : Math.ceil(x);
  return pValueOfLattice(h, n1, n2, Math.min(Math.max(d, 0), 1));
}

/** P(D ≥ h/lcm), `d` the distance itself for the asymptotic form. */
function pValueOfLattice(h: number, n1: number, n2: number, d: number): KsResult {
  const g = gcd(n1, n2);
  if (Math.max(n1, n2) <= MAX_EXACT_N) {
    const lcm = (n1 / g) * n2;
    if (h === 0) return { statistic: 0, pValue: 1, method: 'exact' };
    d = h / lcm;
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
    if (p >= 0 && p <= 1) return { statistic: d, pValue: p, method: 'exact' };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: Math.min(1, Math.max(0, kolmogorovSf(roundHalfEven(en), d))), method: 'asymp' };
}
