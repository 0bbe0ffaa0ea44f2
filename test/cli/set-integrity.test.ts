// Split and reference integrity through the CLI (bin/lethe.js as a child process, a tiny model):
// sets that share items stop a command with exit 2 naming both files and lines, --allow-overlap
// records the overlap and writes the AUCs it invalidates as unavailable; a --retain-results file
// evaluated on other data stops it naming the field that differs; a reference whose role is not
// retain is warned about; and the summary line shows intervals and n.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readResults } from '../../src/results/schema.ts';
import { lethe, tinyModelDir } from '../helpers/tiny-model.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/data/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lethe-integrity-'));
const model = join(dir, 'model');
// Text eval kept small: no generation, short contexts.
const FAST = ['--no-generate', '--batch-size', '8'];

before(async () => {
  await tinyModelDir(model);
  for (const f of ['forget.jsonl', 'retain.jsonl']) copyFileSync(join(FIXTURES, 'split-overlap', f), join(dir, f));
  for (const f of ['forgetA.txt', 'forgetB.txt', 'holdoutA.txt', 'holdoutB.txt']) copyFileSync(join(FIXTURES, 'reference-mismatch', f), join(dir, f));
});

function stderrLine(r: ReturnType<typeof lethe>): string {
  assert.equal(r.status, 2, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  return lines[0];
}

test('unlearn: a forget set inside the retain set is exit 2 naming both files and lines (split-overlap)', () => {
  const line = stderrLine(lethe(dir, 'unlearn', '--model', model, '--method', 'graddiff', '--forget', 'forget.jsonl', '--retain', 'retain.jsonl', '--epochs', '1', '--out', 'gd'));
  assert.match(line, /forget\.jsonl:1 \(forget\) and .*retain\.jsonl:\d+ \(retain\) hold the same item "Question: Where was the novelist Marisol Quenby born\? .*" \(2 items are shared; this is the first\)/);
  assert.match(line, /--allow-overlap/);
});

test('eval --benchmark text: forget QA inside retain QA is exit 2 naming both files and lines', () => {
  const line = stderrLine(lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'forgetA.txt', '--forget-qa', 'forget.jsonl', '--retain-qa', 'retain.jsonl', ...FAST, '--out', 'x.json'));
  assert.match(line, /forget\.jsonl:1 \(forgetQa\) and .*retain\.jsonl:\d+ \(retainQa\)/);
});

test('eval --allow-overlap with the holdout equal to the forget set: results.json records the overlap, every MIA AUC and PrivLeak unavailable with the reason', async () => {
  const refused = stderrLine(lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'forgetA.txt', '--holdout', 'forgetA.txt', ...FAST, '--out', 'o.json'));
  assert.match(refused, /forgetA\.txt:1 \(forget\) and .*forgetA\.txt:1 \(holdout\) hold the same item .*\(20 items are shared/);
  const r = lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'forgetA.txt', '--holdout', 'forgetA.txt', '--allow-overlap', ...FAST, '--out', 'overlap.json');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: --allow-overlap: forget and holdout share 20 items \(first: .*forgetA\.txt:1 and .*forgetA\.txt:1\)/);
  const results = await readResults(join(dir, 'overlap.json'));
  assert.deepEqual(results.overlap?.map((o) => [o.sets, o.count]), [[['forget', 'holdout'], 20]]);
  assert.equal(results.overlap![0].items[0].first.where.endsWith('forgetA.txt:1'), true);
  const mia = results.metrics.mia;
  const aucs = Object.keys(mia).filter((k) => k.endsWith('Auc'));
  assert.ok(aucs.includes('minKAuc') && aucs.includes('lossAuc'), aucs.join());
  for (const k of [...aucs, 'privLeak']) {
    assert.equal(mia[k].value, null, k);
    assert.match(mia[k].unavailable!, /forget and holdout sets share 20 items/, k);
  }
  assert.match(r.stdout, /Min-K% AUC unavailable/);
});

test('eval records what it evaluated; --retain-results on other forget/holdout texts is exit 2 naming the field (reference-mismatch); on the same, PrivLeak with the summary showing intervals and n', async () => {
  const a = lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'forgetA.txt', '--holdout', 'holdoutA.txt', '--role', 'retain', ...FAST, '--out', 'retain-A.json');
  assert.equal(a.status, 0, a.stderr);
  // "Min-K% AUC 0.53 [0.35, 0.71] (n = 20)": the value, its 95% bootstrap interval, the items.
  assert.match(a.stdout, /Min-K% AUC [\d.e-]+ \[[\d.e-]+, [\d.e-]+\] \(n = 20\)/);
  const retainA = await readResults(join(dir, 'retain-A.json'));
  const ev = retainA.evaluated!;
  assert.match(ev.data.forget.sha256, /^[0-9a-f]{64}$/);
  assert.equal(ev.data.forget.items, 20);
  assert.equal(ev.data.holdout.items, 20);
  assert.match(ev.weights!, /^[0-9a-f]{64}$/);
  assert.match(ev.tokenizer!, /^[0-9a-f]{64}$/);
  assert.equal(ev.template, 'text');
  assert.ok(retainA.metrics.mia.minKAuc.interval && 'lower' in retainA.metrics.mia.minKAuc.interval);
  assert.equal(retainA.metrics.mia.minKAuc.n, 20);

  const line = stderrLine(lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'forgetB.txt', '--holdout', 'holdoutB.txt', '--retain-results', 'retain-A.json', ...FAST, '--out', 'b.json'));
  assert.match(line, /^lethe: --retain-results \S*retain-A\.json: evaluated\.data\.forget\.sha256 differs \(\S*forgetA\.txt, 20 items, against this evaluation's \S*forgetB\.txt, 20 items\); PrivLeak compares results only on the same evaluated data$/);
  // Same forget texts, other holdout: the holdout is named.
  assert.match(stderrLine(lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'forgetA.txt', '--holdout', 'holdoutB.txt', '--retain-results', 'retain-A.json', ...FAST, '--out', 'b.json')), /evaluated\.data\.holdout\.sha256 differs/);

  // The same data (another path to the same bytes): PrivLeak computed, no warning (role retain).
  writeFileSync(join(dir, 'forget-copy.txt'), readFileSync(join(dir, 'forgetA.txt')));
  const same = lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'forget-copy.txt', '--holdout', 'holdoutA.txt', '--retain-results', 'retain-A.json', ...FAST, '--out', 'same.json');
  assert.equal(same.status, 0, same.stderr);
  assert.equal(same.stderr, '');
  assert.equal((await readResults(join(dir, 'same.json'))).metrics.mia.privLeak.value, 0);
});

test('a --retain-results file whose role is not retain gets a warning on stderr and in results.json', async () => {
  const t = lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'forgetA.txt', '--holdout', 'holdoutA.txt', '--role', 'target', ...FAST, '--out', 'target-A.json');
  assert.equal(t.status, 0, t.stderr);
  const r = lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'forgetA.txt', '--holdout', 'holdoutA.txt', '--retain-results', 'target-A.json', ...FAST, '--out', 'vs-target.json');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^lethe eval: warning: --retain-results \S*target-A\.json: its role is target, not retain: /);
  const results = await readResults(join(dir, 'vs-target.json'));
  assert.equal(results.warnings?.length, 1);
  assert.match(results.warnings![0], /its role is target, not retain/);
});

test('TOFU: a --retain-results file whose role is target is warned about (forget quality against the model itself); one on another forget split is exit 2', async () => {
  const TOFU = ['--benchmark', 'tofu', '--tofu-authors', '3', '--forget-authors', '1', '--limit', '4', ...FAST];
  const t = lethe(dir, 'eval', '--model', model, ...TOFU, '--role', 'target', '--out', 'tofu-target.json');
  assert.equal(t.status, 0, t.stderr);
  const r = lethe(dir, 'eval', '--model', model, ...TOFU, '--retain-results', 'tofu-target.json', '--out', 'tofu-vs-target.json');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: --retain-results \S*tofu-target\.json: its role is target, not retain: forget quality and PrivLeak against it do not measure forgetting/);
  const results = await readResults(join(dir, 'tofu-vs-target.json'));
  assert.equal(results.metrics.tofu.forgetQuality.value, 1); // the model against itself: why the warning is there
  assert.match(results.warnings![0], /its role is target/);
  assert.deepEqual(Object.keys(results.evaluated!.data).sort(), ['forget', 'holdout', 'realAuthors', 'retain', 'worldFacts']);
  // Other forget items (a --limit of 5, not 4): named.
  const other = stderrLine(lethe(dir, 'eval', '--model', model, '--benchmark', 'tofu', '--tofu-authors', '3', '--forget-authors', '1', '--limit', '5', ...FAST, '--retain-results', 'tofu-target.json', '--out', 'x.json'));
  assert.match(other, /evaluated\.data\.forget\.sha256 differs .*; forget quality (\(and PrivLeak\) )?compares results only on the same evaluated data$/);
});

test('report: runs of one benchmark on other evaluated data are exit 2 naming both runs and the field; on the same data the page is written', () => {
  const line = stderrLine(lethe(dir, 'report', 'retain-A.json', 'overlap.json', '--out', 'r.html'));
  assert.match(line, /^lethe: report: overlap: evaluated\.data\.holdout\.sha256 differs from retain-A's \(\S*forgetA\.txt, 20 items against \S*holdoutA\.txt, 20 items\); the report compares results only on the same evaluated data$/);
  const ok = lethe(dir, 'report', 'retain-A.json', 'target-A.json', 'same.json', '--out', 'r.html');
  assert.equal(ok.status, 0, ok.stderr);
});

test('unlearn: an overlong forget item is exit 2 naming its file and line whatever the --seed (overlong-item); --overlong skip runs and names it', () => {
  copyFileSync(join(FIXTURES, 'overlong-item', 'forget.jsonl'), join(dir, 'long.jsonl'));
  for (const seed of ['0', '5']) {
    const line = stderrLine(lethe(dir, 'unlearn', '--model', model, '--method', 'ga', '--forget', 'long.jsonl', '--epochs', '1', '--seed', seed, '--out', `ga-${seed}`));
    assert.match(line, /^lethe: \S*long\.jsonl:5: \d+ tokens \(prompt \d+ \+ target \d+\) exceed the context length 128/);
  }
  const r = lethe(dir, 'unlearn', '--model', model, '--method', 'ga', '--forget', 'long.jsonl', '--epochs', '1', '--batch-size', '2', '--accumulation', '1', '--overlong', 'skip', '--out', 'ga-skip');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /lethe unlearn: --overlong skip: forget: 1 skipped \(longer than the 128-token context\): \S*long\.jsonl:5 \(\d+ tokens, skipped\)/);
  // Many overlong items: the notice names the first five and counts the rest.
  const lines = readFileSync(join(dir, 'long.jsonl'), 'utf8').trim().split('\n');
  const long = lines[4];
  writeFileSync(join(dir, 'many-long.jsonl'), [...lines.slice(0, 4), ...Array.from({ length: 8 }, () => long)].join('\n') + '\n');
  const many = lethe(dir, 'unlearn', '--model', model, '--method', 'ga', '--forget', 'many-long.jsonl', '--epochs', '1', '--batch-size', '2', '--overlong', 'truncate', '--allow-overlap', '--out', 'ga-many');
  assert.equal(many.status, 0, many.stderr);
  // (an item whose prompt alone fills the context is skipped even under truncate)
  assert.match(many.stderr, /forget: 8 (skipped|truncated) \(longer than the 128-token context\): (\S*many-long\.jsonl:\d+ \(\d+ tokens, (skipped|truncated)\), ){4}\S*many-long\.jsonl:9 \(\d+ tokens, (skipped|truncated)\) and 3 more\n/);
});

test('eval: an overlong text is skipped by default and counted with its file and line in results.json; --overlong error is exit 2 naming it', async () => {
  const texts = readFileSync(join(dir, 'forgetA.txt'), 'utf8').trim().split('\n').slice(0, 6);
  texts.splice(2, 0, Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '));
  writeFileSync(join(dir, 'long.txt'), texts.join('\n') + '\n');
  const r = lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'long.txt', ...FAST, '--out', 'long.json');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /--overlong skip: forget: 1 skipped \(longer than the 128-token context; first: \S*long\.txt:3, \d+ tokens\)/);
  const results = await readResults(join(dir, 'long.json'));
  const rec = results.overlong!.forget;
  assert.deepEqual([rec.policy, rec.skipped, rec.truncated, rec.items.length], ['skip', 1, 0, 1]);
  assert.match(rec.items[0].where, /long\.txt:3$/);
  assert.equal(results.metrics.memorisation.exactMemorization.n, 6);
  assert.match(stderrLine(lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'long.txt', '--overlong', 'error', ...FAST, '--out', 'long2.json')), /\S*long\.txt:3: \d+ tokens .*exceed the context length 128/);
});

test('a --retain-model folder that lethe train made as the target is warned about', async () => {
  const fake = join(dir, 'trained');
  await tinyModelDir(join(fake, 'target', 'model'));
  writeFileSync(join(fake, 'config.yaml'), 'command: train\n');
  const r = lethe(dir, 'eval', '--model', model, '--benchmark', 'text', '--forget', 'forgetA.txt', '--holdout', 'holdoutA.txt', '--retain-model', join(fake, 'target', 'model'), ...FAST, '--out', 'vs-target-model.json');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: --retain-model \S*trained\/target\/model: its role is target, not retain/);
  assert.match((await readResults(join(dir, 'vs-target-model.json'))).warnings!.join('\n'), /its role is target/);
});
