// `lethe demo --quick` end to end, as a child process into a temporary folder: it must finish,
// write summary.json with every model (numbers, or null where a value is unavailable) and a
// report naming every model, and show the directions that hold even on the quick case: the
// retain model is the forget-quality reference (1), the target's forget quality is below 0.05,
// every unlearning method lowers forget Prob below the target's, gradient ascent costs model
// utility, and some method forgets (forget quality >= 0.05) at 80% of the target's utility.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QUICK_PLAN } from '../../src/pipeline/demo/demo-case.ts';
import { DEMO_METHODS } from '../../src/pipeline/demo/demo-methods.ts';
import { reusable } from '../../src/pipeline/demo/demo-models.ts';
import type { Summary } from '../../src/pipeline/demo/demo-summary.ts';

const BIN = fileURLToPath(new URL('../../bin/lethe.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lethe-demo-'));
const out = join(dir, 'demo');
// --quick runs a subset of the demo methods (QUICK_PLAN.methods), in DEMO_METHODS' order.
const UNLEARNED = DEMO_METHODS.map((m) => m.name).filter((n) => QUICK_PLAN.methods?.includes(n) ?? true);
const MODELS = ['target', 'retain', ...UNLEARNED, 'guardrail'];

function lethe(...args: string[]) {
  // A pipe and CI unset: the plain progress lines, as in a log file.
  return spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '' }, timeout: 15 * 60 * 1000 });
}

let run: ReturnType<typeof lethe>;
let summary: Summary;
const row = (name: string) => summary.models.find((m) => m.name === name)!;

before(() => {
  run = lethe('demo', '--quick', '--out', out);
  if (run.status === 0) summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('lethe demo --quick exits 0, showing its stages, training progress and the summary table', () => {
  assert.equal(run.status, 0, `exit ${run.status}\n${run.stderr}\n${run.stdout.slice(-3000)}`);
  for (const stage of ['(1/5)', '(2/5)', '(3/5)', '(4/5)', '(5/5)']) assert.match(run.stdout, new RegExp(stage.replace(/[()]/g, '\\$&')));
  assert.match(run.stdout, /target step \d+\/\d+ loss/, 'training progress lines');
  assert.match(run.stdout, /model +forget quality \[95% CI\] +model utility \[95% CI\] +forget Prob \[95% CI\] +n +after relearn +after 4-bit +after prompts/);
  for (const name of MODELS) assert.match(run.stdout, new RegExp(`^${name} `, 'm'), `a table row for ${name}`);
});

test('summary.json holds every model, each value a number or null', () => {
  assert.deepEqual(summary.models.map((m) => m.name), MODELS);
  const numberOrNull = (x: unknown, what: string) => assert.ok(x === null || (typeof x === 'number' && Number.isFinite(x)), `${what}: ${JSON.stringify(x)}`);
  for (const m of summary.models) {
    assert.deepEqual(Object.keys(m).filter((k) => k !== 'intervals' && k !== 'n').sort(), ['attacks', 'forget_prob', 'forget_quality', 'model_utility', 'name']);
    // The headline numbers carry their 95% bootstrap intervals and the forget items they were computed on.
    assert.ok(Number.isInteger(m.n) && m.n! > 0, `${m.name}.n: ${m.n}`);
    for (const [k, b] of Object.entries(m.intervals ?? {})) {
      const v = m[k as 'forget_prob'];
      assert.ok(v !== null && b[0] <= b[1] && b[0] - 1e-12 <= v && v <= b[1] + 1e-12 || k === 'forget_quality', `${m.name}.${k}: ${v} in ${JSON.stringify(b)}`);
    }
    assert.ok(m.intervals?.forget_prob, `${m.name} has an interval on forget Prob`);
    assert.deepEqual(Object.keys(m.attacks).sort(), ['prompts', 'quantize_4bit', 'relearn']);
    for (const k of ['forget_quality', 'model_utility', 'forget_prob'] as const) numberOrNull(m[k], `${m.name}.${k}`);
    for (const [k, v] of Object.entries(m.attacks)) numberOrNull(v, `${m.name}.attacks.${k}`);
    // Everything is measurable on this case: no value should be missing.
    assert.ok(m.forget_quality !== null && m.model_utility !== null && m.forget_prob !== null, `${m.name} has every metric`);
    assert.ok(Object.values(m.attacks).every((v) => v !== null), `${m.name} has every attack`);
  }
});

test('report.html exists and names every model; each run folder holds its results.json', () => {
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const name of MODELS) {
    assert.match(html, new RegExp(`<th scope="row">${name}[ <]`), `report names ${name}`);
    assert.ok(existsSync(join(out, name, 'results.json')), `${name}/results.json`);
  }
});

test('the retain model is the forget-quality reference and the target has forgotten nothing', () => {
  assert.equal(row('retain').forget_quality, 1);
  assert.ok(row('target').forget_quality! < 0.05, `target forget quality ${row('target').forget_quality}`);
  assert.ok(row('target').forget_prob! > row('retain').forget_prob!, 'the target knows the forget authors better than the retain model');
});

test("every unlearning method lowers forget Prob below the target's; gradient ascent costs model utility", () => {
  const target = row('target');
  for (const name of UNLEARNED) assert.ok(row(name).forget_prob! < target.forget_prob!, `${name}: ${row(name).forget_prob} vs target ${target.forget_prob}`);
  assert.ok(row('ga').model_utility! < target.model_utility!, `ga utility ${row('ga').model_utility} vs target ${target.model_utility}`);
});

// The headline is a measurement of this run: it names each method that reached forget quality
// >= 0.05 with 80% of the target's utility in every one of its seeds (here one), saying how many.
// The case is chosen so that one does (issue 12: the quick and the full case were run with three
// --seed values and CE-U passed in each), so the test asks for a winner.
test('the headline names at least one method that forgets (forget quality >= 0.05) while keeping 80% of the target model utility, with its seed count, and only those', () => {
  const target = row('target');
  const good = UNLEARNED.filter((name) => row(name).forget_quality! >= 0.05 && row(name).model_utility! >= 0.8 * target.model_utility!);
  const table = UNLEARNED.map((n) => `${n} ${row(n).forget_quality} / ${row(n).model_utility}`).join(', ');
  assert.ok(good.length > 0, `no method passes: ${table}`);
  for (const name of good) assert.match(run.stdout, new RegExp(`^${name}: forget quality ≥ 0\\.05 at ≥ 80% of the target's model utility in 1 of 1 seed\\.$`, 'm'), table);
  for (const name of UNLEARNED.filter((n) => !good.includes(n))) assert.doesNotMatch(run.stdout, new RegExp(`^${name}: forget quality ≥`, 'm'), table);
  assert.doesNotMatch(run.stdout, /No method reached/);
  // summary.json: versioned, the demo's seed, and per method its seed's row and verdict.
  assert.equal(summary.schema, 'lethe.demo-summary/1');
  assert.equal(summary.seed, 1);
  assert.deepEqual(summary.seeds, [1]);
  assert.deepEqual(summary.methods!.map((m) => m.name), UNLEARNED);
  for (const m of summary.methods!) {
    assert.deepEqual({ ...m.runs[0], seed: undefined, pass: undefined }, { ...row(m.name), seed: undefined, pass: undefined });
    assert.equal(m.passes.all, good.includes(m.name), `${m.name} passes`);
  }
});

test('the target and retain models are reused only for the same case', () => {
  assert.equal(reusable(out, QUICK_PLAN.case), true);
  assert.equal(reusable(out, { ...QUICK_PLAN.case, authors: QUICK_PLAN.case.authors + 1 }), false);
  assert.equal(reusable(out, { ...QUICK_PLAN.case, training: { ...QUICK_PLAN.case.training, epochs: 1 } }), false);
});

test('lethe demo --seeds 0, -1, x and --seed x are refused: exit 2, one line', () => {
  for (const args of [['--seeds', '0'], ['--seeds=-1'], ['--seeds', 'x'], ['--seed', 'x']]) {
    const r = lethe('demo', '--quick', '--out', join(dir, 'bad'), ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^lethe: ${args[0].split('=')[0]}: expected an integer`));
    assert.equal(existsSync(join(dir, 'bad')), false, 'nothing written');
  }
});

test('lethe demo refuses a folder that holds something else (exit 2, one line)', () => {
  const other = join(dir, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'notes.txt'), 'mine');
  const r = lethe('demo', '--quick', '--out', other);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^lethe: --out .*other: holds files that are not a lethe demo's/);
  assert.equal(readFileSync(join(other, 'notes.txt'), 'utf8'), 'mine');
});
