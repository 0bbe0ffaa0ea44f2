// The two-sample KS test against scipy.stats.ks_2samp (fixture from
// scripts/make-metric-fixtures.py): p-values within 1e-10 relative where scipy is exact,
// 1e-6 in the asymptotic regime; and the one-sample sf against scipy.stats.kstwo.sf.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { kolmogorovSf } from '../../../src/eval/stats/kolmogorov-sf.ts';
import { ksTwoSample } from '../../../src/eval/stats/ks-test.ts';
import { LetheError } from '../../../src/engine/errors.ts';

interface Spec { n: number; seed: number; offset: number; scale: number; power?: number; quantum?: number }
interface Case {
  name: string; statistic: number; pValue: number; method: 'exact' | 'asymp';
  x?: number[]; y?: number[]; xSpec?: Spec; ySpec?: Spec;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/metrics/ks.json', import.meta.url), 'utf8')) as {
  phi: number; cases: Case[]; kstwo: { n: number; x: number; sf: number }[];
};

// The fixture script's `generate`, operation for operation, so the samples are bit-identical.
function generate(s: Spec): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.n; i++) {
    let u = ((i + s.seed) * fixture.phi) % 1;
    if (s.power === 2) u = u * u;
    let v = s.offset + s.scale * u;
    if (s.quantum !== undefined) v = Math.floor(v * s.quantum) / s.quantum;
    out.push(v);
  }
  return out;
}

function relClose(actual: number, expected: number, tol: number, what: string): void {
  const err = actual === expected ? 0 : Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(err <= tol, `${what}: ${actual} vs ${expected} (relative error ${err})`);
}

test('fixture covers both regimes, unequal sizes, ties and tiny p-values', () => {
  const methods = new Set(fixture.cases.map((c) => c.method));
  assert.deepEqual([...methods].sort(), ['asymp', 'exact']);
  assert.ok(fixture.cases.some((c) => c.method === 'exact' && c.pValue < 1e-200));
});

for (const c of fixture.cases) {
  test(`ks_2samp: ${c.name}`, () => {
    const x = c.x ?? generate(c.xSpec!);
    const y = c.y ?? generate(c.ySpec!);
    const r = ksTwoSample(x, y);
    assert.equal(r.method, c.method);
    relClose(r.statistic, c.statistic, 1e-12, 'statistic');
    relClose(r.pValue, c.pValue, c.method === 'exact' ? 1e-10 : 1e-6, 'p-value');
  });
}

test('kstwo.sf over every branch of the method choice', () => {
  for (const c of fixture.kstwo) relClose(kolmogorovSf(c.n, c.x), c.sf, 1e-6, `n=${c.n} x=${c.x}`);
});

test('the test is symmetric in its samples and ignores their order', () => {
  const x = [0.3, 1.2, -0.5, 2.2, 0.9, 0.1];
  const y = [1.1, 2.5, 0.4, 3.3];
  const a = ksTwoSample(x, y);
  const b = ksTwoSample([...y].reverse(), [...x].reverse());
  assert.equal(a.statistic, b.statistic);
  assert.equal(a.pValue, b.pValue);
});

test('an empty or NaN sample is refused', () => {
  assert.throws(() => ksTwoSample([], [1]), LetheError);
  assert.throws(() => ksTwoSample([1, Number.NaN], [1]), LetheError);
});
