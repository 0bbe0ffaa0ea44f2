// `lethe unlearn` with a user's TOFU-format QA files (a JSON array and JSON Lines) and
// multiple-choice accuracy as the --eval-every probe: the probe's numbers in log.jsonl are
// `lethe eval --benchmark mc`'s on the weights of that step, so the kept (best) model evaluated
// afterwards gives back the best step's logged accuracies.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectTofuAuthors } from '../../src/data/tofu.ts';
import { readResults } from '../../src/results/schema.ts';
import { lethe, tinyModelDir } from '../helpers/tiny-model.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/multiple-choice/', import.meta.url));
const WMDP_JSON = join(FIXTURES, 'wmdp-sample.json');
const MMLU_CSV = join(FIXTURES, 'high_school_mathematics_test.csv');
const dir = mkdtempSync(join(tmpdir(), 'lethe-unlearn-qa-mc-'));
const model = join(dir, 'model-in');

before(async () => {
  await tinyModelDir(model, 3);
  const subset = selectTofuAuthors({ authors: 2, forget: 1 });
  const record = (i: { question: string; answer: string }) => ({ question: i.question, answer: i.answer });
  writeFileSync(join(dir, 'forget.json'), JSON.stringify(subset.forgetSet.slice(0, 8).map(record)));
  writeFileSync(join(dir, 'retain.jsonl'), subset.retainSet.slice(0, 8).map((i) => JSON.stringify(record(i))).join('\n') + '\n');
});

function ok(r: ReturnType<typeof lethe>): string {
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

test('unlearn --forget-qa/--retain-qa with --probe mc: MC accuracy logged every step; the kept model evaluates to the best step\'s numbers', async () => {
  const out = join(dir, 'run');
  ok(lethe(dir, 'unlearn', '--model', model, '--method', 'graddiff', '--forget-qa', 'forget.json', '--retain-qa', 'retain.jsonl',
    '--epochs', '1', '--batch-size', '2', '--accumulation', '1', '--lr', '0.05',
    '--eval-every', '1', '--probe', 'mc', '--forget-mc', WMDP_JSON, '--retain-mc', MMLU_CSV, '--out', out));
  const lines = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; eval?: Record<string, number> });
  assert.equal(lines.length, 4); // 8 forget items, batches of 2
  for (const l of lines) {
    assert.ok(l.eval, `step ${l.step} has no probe`);
    for (const key of ['forgetAcc', 'retainAcc', 'forgetAccNorm', 'retainAccNorm']) assert.ok(l.eval[key] >= 0 && l.eval[key] <= 1, `${key} ${l.eval[key]}`);
    // 2 forget items and 3 retain items: accuracies are multiples of 1/2 and 1/3.
    assert.ok(Number.isInteger(l.eval.forgetAcc * 2) && Math.abs(l.eval.retainAcc * 3 - Math.round(l.eval.retainAcc * 3)) < 1e-12);
  }
  // The best step: the first with the highest retain acc − forget acc (the loop keeps a strictly better score).
  const score = (l: (typeof lines)[number]) => l.eval!.retainAcc - l.eval!.forgetAcc;
  const best = lines.reduce((a, l) => (score(l) > score(a) ? l : a));
  const evalOut = join(dir, 'kept.json');
  ok(lethe(dir, 'eval', '--model', join(out, 'model'), '--benchmark', 'mc', '--forget-mc', WMDP_JSON, '--retain-mc', MMLU_CSV, '--out', evalOut));
  const mc = (await readResults(evalOut)).metrics.mc;
  assert.equal(mc.forgetAcc.value, best.eval!.forgetAcc);
  assert.equal(mc.retainAcc.value, best.eval!.retainAcc);
  assert.equal(mc.forgetAccNorm.value, best.eval!.forgetAccNorm);
  assert.match(readFileSync(join(out, 'config.yaml'), 'utf8'), /^probe: mc$/m);
});

test('unlearn: --probe mc without files or --eval-every, and MC files without --probe mc, are refused with one line', () => {
  const cases: [string[], RegExp][] = [
    [['--probe', 'mc', '--eval-every', '1'], /^lethe: --probe: --probe mc needs --forget-mc FILE/],
    [['--probe', 'mc', '--forget-mc', WMDP_JSON], /^lethe: --probe: --probe mc needs --eval-every N/],
    [['--forget-mc', WMDP_JSON], /^lethe: --forget-mc: only with --probe mc$/],
    [['--retain', 'retain.jsonl'], /^lethe: --retain-qa: give one retain set/],
  ];
  for (const [args, message] of cases) {
    const r = lethe(dir, 'unlearn', '--model', model, '--method', 'graddiff', '--forget-qa', 'forget.json', '--retain-qa', 'retain.jsonl', ...args, '--out', join(dir, 'bad'));
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], message);
  }
});
