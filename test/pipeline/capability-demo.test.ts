// `lethe demo --case capability --quick` end to end, as a child process into a temporary folder:
// it must finish, write a versioned summary.json with every model and a report, and show the
// directions that hold even on the quick case: the target knows the forget domain well above
// chance and the retain model (never trained on it) does not; every method lowers forget-domain
// accuracy below the target's, at least one to near chance; every method keeps retain-domain
// accuracy within a margin of the target's; relearning brings forget accuracy back up for some
// method.
//
// Margins, with n = 75 questions per domain: the standard error of an accuracy near 75% is
// √(0.75·0.25/75) ≈ 5 points, so a 95% interval is about ±10 points. "Near chance" is within
// 15 points of it (25%), and "kept" is no more than 15 points below the target's retain
// accuracy: both are about 1.5 interval half-widths, loose enough for the quick case's noise
// and tight enough to fail for a method that forgets nothing (the target is ~35 points above
// chance) or one that ruins the other domain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAPABILITY_QUICK_PLAN } from '../../src/pipeline/demo/capability-case.ts';
import { CAPABILITY_SUMMARY_SCHEMA, type CapabilitySummary } from '../../src/pipeline/demo/capability-demo.ts';
import { reusable } from '../../src/pipeline/demo/demo-models.ts';
import { readResults } from '../../src/results/schema.ts';

const BIN = fileURLToPath(new URL('../../bin/lethe.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lethe-capability-demo-'));
const out = join(dir, 'demo');
const METHODS = CAPABILITY_QUICK_PLAN.methods.map((m) => m.name);
const MODELS = ['target', 'retain', ...METHODS];
const MARGIN = 0.15;

function lethe(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '' }, timeout: 15 * 60 * 1000 });
}

let run: ReturnType<typeof lethe>;
let summary: CapabilitySummary;
const row = (name: string) => summary.models.find((m) => m.name === name)!;

before(() => {
  run = lethe('demo', '--case', 'capability', '--quick', '--out', out);
  if (run.status === 0) summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as CapabilitySummary;
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('lethe demo --case capability --quick exits 0, showing its stages, training progress and the table', () => {
  assert.equal(run.status, 0, `exit ${run.status}\n${run.stderr}\n${run.stdout.slice(-3000)}`);
  for (const stage of ['(1/4)', '(2/4)', '(3/4)', '(4/4)']) assert.match(run.stdout, new RegExp(`lethe demo \\[\\d+:\\d+\\] ${stage.replace(/[()]/g, '\\$&')}`));
  assert.match(run.stdout, /target step \d+\/\d+ loss/, 'training progress lines');
  assert.match(run.stdout, /model +relays acc % \[95% CI\] +alloys acc % \[95% CI\] +chance % +relays after relearn +alloys after relearn/);
  for (const name of MODELS) assert.match(run.stdout, new RegExp(`^${name} `, 'm'), `a table row for ${name}`);
});

test('summary.json: versioned, every model with accuracies, intervals holding them, chance 25%', () => {
  assert.equal(summary.schema, CAPABILITY_SUMMARY_SCHEMA);
  assert.equal(summary.case, 'capability');
  assert.deepEqual(summary.models.map((m) => m.name), MODELS);
  for (const m of summary.models) {
    assert.equal(m.chance, 0.25);
    assert.deepEqual(m.n, { forget: 75, retain: 75 });
    for (const a of [m.forget_acc, m.retain_acc, m.relearned!.forget_acc, m.relearned!.retain_acc]) {
      assert.ok(a.value !== null && a.interval !== null && a.interval[0] <= a.value && a.value <= a.interval[1], `${m.name}: ${JSON.stringify(a)}`);
      assert.ok(Number.isInteger(Math.round(a.value * 75 * 1e6) / 1e6), `${m.name}: ${a.value} is not a count of 75`);
    }
  }
});

test('directions: the target knows the forget domain and the retain model does not; unlearning lowers it toward chance and keeps the other domain', () => {
  const target = row('target');
  assert.ok(target.forget_acc.value! > 0.25 + 0.2, `target relays accuracy ${target.forget_acc.value}`);
  assert.ok(row('retain').forget_acc.value! < 0.25 + MARGIN, `retain model relays accuracy ${row('retain').forget_acc.value}`);
  for (const name of METHODS) {
    const r = row(name);
    assert.ok(r.forget_acc.value! < target.forget_acc.value!, `${name}: relays ${r.forget_acc.value} not below the target's ${target.forget_acc.value}`);
    assert.ok(r.retain_acc.value! >= target.retain_acc.value! - MARGIN, `${name}: alloys ${r.retain_acc.value} vs the target's ${target.retain_acc.value}`);
  }
  const nearChance = METHODS.filter((n) => row(n).forget_acc.value! <= 0.25 + MARGIN);
  assert.ok(nearChance.length > 0, `no method within ${MARGIN} of chance: ${METHODS.map((n) => `${n} ${row(n).forget_acc.value}`).join(', ')}`);
});

test('relearning on the forget domain\'s other facts brings accuracy back for some method', () => {
  const gains = METHODS.map((n) => row(n).relearned!.forget_acc.value! - row(n).forget_acc.value!);
  assert.ok(Math.max(...gains) >= 0.05, `gains ${gains.join(', ')}`);
  for (const n of METHODS) {
    const g = row(n).relearned!.gain;
    assert.ok(Math.abs(g.value! - (row(n).relearned!.forget_acc.value! - row(n).forget_acc.value!)) < 1e-9);
  }
});

test('each run has results.json with the MC metrics and the relearn_mc attack; the report names every model', async () => {
  for (const name of MODELS) {
    const r = await readResults(join(out, name, 'results.json'));
    assert.equal(r.benchmark.name, 'mc');
    assert.equal(r.metrics.mc.forgetAcc.value, row(name).forget_acc.value);
    assert.equal(r.attacks?.relearn_mc.after.forgetAcc, row(name).relearned!.forget_acc.value);
  }
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const name of MODELS) assert.match(html, new RegExp(`>${name}<`));
  assert.match(html, /relearn_mc/);
  assert.equal(reusable(out, CAPABILITY_QUICK_PLAN.case), true);
  assert.equal(reusable(out, { ...CAPABILITY_QUICK_PLAN.case, training: { ...CAPABILITY_QUICK_PLAN.case.training, epochs: 1 } }), false);
  assert.ok(existsSync(join(out, 'rmu', 'model', 'config.json')));
});

test('lethe demo --case with an unknown case: exit 2, one line', () => {
  const r = lethe('demo', '--case', 'bogus', '--out', join(dir, 'bogus'));
  assert.equal(r.status, 2);
  assert.deepEqual(r.stderr.trim().split('\n'), ['lethe: --case: expected tofu or capability, got "bogus"']);
});
