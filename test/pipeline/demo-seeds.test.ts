// The demo over several unlearning seeds (`lethe demo --seeds N`), on rows made by hand: a
// method's mean ± sd and "passes in k of N" are those of its seeds' numbers, and the headline
// names a method only when it passes in every seed, saying how many.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { methodSeeds, summaryTable, type SummaryRow } from '../../src/pipeline/demo/demo-summary.ts';
import { headline } from '../../src/pipeline/demo/run-demo.ts';

const row = (name: string, fq: number | null, mu: number | null, prob = 0.1): SummaryRow => ({
  name, forget_quality: fq, model_utility: mu, forget_prob: prob, attacks: { relearn: 0.2, quantize_4bit: 0.1, prompts: 0.05 }, n: 40,
});
const target = row('target', 1e-8, 0.8, 0.75);
const retain = row('retain', 1, 0.7, 0.001);

test('methodSeeds: mean ± sample sd of each number, and the seeds passing forget quality ≥ 0.05 at ≥ 80% of the target utility', () => {
  // Seed 2 keeps 0.63 < 0.64 = 80% of 0.8: it forgets but does not keep enough utility.
  const m = methodSeeds('ce-u', [1, 2, 3], [row('ce-u', 0.2, 0.7), row('ce-u', 0.5, 0.63), row('ce-u', 0.05, 0.65)], 0.8);
  assert.deepEqual(m.runs.map((r) => [r.seed, r.pass]), [[1, true], [2, false], [3, true]]);
  assert.deepEqual(m.passes, { passes: 2, runs: 3, all: false });
  assert.ok(Math.abs(m.forget_quality.mean! - 0.25) < 1e-12);
  // sd of 0.2, 0.5, 0.05 around 0.25: sqrt((0.0025 + 0.0625 + 0.04) / 2)
  assert.ok(Math.abs(m.forget_quality.sd! - Math.sqrt(0.105 / 2)) < 1e-12);
  assert.equal(m.forget_quality.passes, 3);
  assert.equal(m.model_utility.passes, 2);
  assert.ok(Math.abs(m.model_utility.mean! - (0.7 + 0.63 + 0.65) / 3) < 1e-12);
  // An unavailable forget quality never passes and stays out of the mean.
  const u = methodSeeds('npo', [1, 2], [row('npo', null, 0.79), row('npo', 0.3, 0.79)], 0.8);
  assert.deepEqual(u.passes, { passes: 1, runs: 2, all: false });
  assert.equal(u.forget_quality.available, 1);
  assert.equal(u.forget_quality.mean, 0.3);
});

test('the headline names a method only for what holds in every seed, with how many; the others are said to pass only sometimes', () => {
  const good = methodSeeds('graddiff', [1, 2, 3], [row('graddiff', 0.3, 0.7), row('graddiff', 0.1, 0.66), row('graddiff', 0.06, 0.65)], 0.8);
  const some = methodSeeds('ce-u', [1, 2, 3], [row('ce-u', 0.3, 0.7), row('ce-u', 0.01, 0.7), row('ce-u', 0.06, 0.65)], 0.8);
  const none = methodSeeds('ga', [1, 2, 3], [row('ga', 0.3, 0), row('ga', 0.2, 0), row('ga', 0.5, 0.1)], 0.8);
  const rows = [target, retain, good.runs[0], some.runs[0], none.runs[0]];
  const text = headline(rows, [good, some, none]);
  assert.match(text, /^graddiff: forget quality ≥ 0\.05 at ≥ 80% of the target's model utility in 3 of 3 seeds\.$/m);
  assert.doesNotMatch(text, /^ce-u:/m);
  assert.doesNotMatch(text, /^ga:/m);
  assert.match(text, /Not in every seed, so not a finding: ce-u 2 of 3 seeds\./);
  assert.doesNotMatch(text, /No method reached/);
  const nothing = headline(rows, [some, none]);
  assert.match(nothing, /No method reached forget quality ≥ 0\.05 while keeping 80% of the target's model utility in all of its seeds\./);
  // One seed: "in 1 of 1 seed".
  const single = methodSeeds('graddiff', [7], [row('graddiff', 0.3, 0.7)], 0.8);
  assert.match(headline([target, retain, single.runs[0]], [single]), /^graddiff: forget quality ≥ 0\.05 at ≥ 80% of the target's model utility in 1 of 1 seed\.$/m);
});

test('the table shows a method over several seeds as mean ± sd with its k/N, a single run with its interval', () => {
  const m = methodSeeds('graddiff', [1, 2], [row('graddiff', 0.3, 0.7), row('graddiff', 0.1, 0.6)], 0.8);
  const table = summaryTable([{ ...target, intervals: { model_utility: [0.7, 0.9] } }, m.runs[0]], { target: 100, graddiff: 4, 'graddiff-seed-2': 6 }, [m]);
  const lines = table.split('\n');
  assert.match(lines[0], /forget quality \[95% CI\] or mean ± sd .* passes/);
  assert.match(lines.find((l) => l.startsWith('target'))!, /0\.800 \[0\.700, 0\.900\]/);
  const g = lines.find((l) => l.startsWith('graddiff'))!;
  assert.match(g, new RegExp(`0\\.200 ± ${Math.sqrt(0.02).toFixed(3)}`)); // fq: mean 0.2, sd sqrt(((0.1)^2 + (0.1)^2) / 1)
  assert.match(g, /0\.650 ± 0\.071/); // utility
  assert.match(g, / 1\/2 /); // seed 2's utility 0.6 < 0.64
  assert.match(g, / 5\.0$/); // mean unlearning time
});
