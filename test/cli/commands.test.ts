// The commands end to end, each as a child process (`node bin/lethe.js …`) on tiny settings:
// train a tiny preset on three TOFU authors (target and retain), unlearn one author from the
// target (the input folder must come out byte-identical), resume the finished run, evaluate on
// TOFU and on MUSE-style text; and bad input, which must give one line on stderr and exit 2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectTofuAuthors } from '../../src/data/tofu.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { loadTokenizer } from '../../src/models/tokenizer/load-tokenizer.ts';
import { readResults } from '../../src/results/schema.ts';
import { guardInputs, hashTree } from '../helpers/input-guard.ts';

const BIN = fileURLToPath(new URL('../../bin/lethe.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lethe-cli-'));
const run = join(dir, 'run');

function lethe(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  // CI unset and stdout a pipe: the plain progress lines, as in a log file.
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: ReturnType<typeof lethe>): string {
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

const TINY = ['--tofu-authors', '3', '--forget-authors', '1'];

before(() => {
  ok(lethe('train', '--preset', 'tiny', ...TINY, '--epochs', '2', '--vocab-size', '400', '--out', run));
});
// Every command below reads these models: they must come out of the file byte-identical.
let inputsUnchanged: () => void;
before(() => {
  inputsUnchanged = guardInputs(join(run, 'target', 'model'), join(run, 'retain', 'model'));
});
after(() => inputsUnchanged());

test('train: a preset on three TOFU authors makes a target and a retain model that load back with their tokenizer', async () => {
  for (const role of ['target', 'retain']) {
    const modelDir = join(run, role, 'model');
    const model = await loadModel(modelDir);
    const tokenizer = loadTokenizer(modelDir);
    assert.equal(model.config.vocabSize, tokenizer.vocabSize);
    assert.ok(existsSync(join(run, role, 'log.jsonl')));
  }
  const steps = (role: string) => readFileSync(join(run, role, 'log.jsonl'), 'utf8').trim().split('\n').length;
  // Batch 8, two epochs: 60 target items (3 authors) → 16 steps, 40 retain items → 10.
  assert.deepEqual([steps('target'), steps('retain')], [16, 10]);
  assert.match(readFileSync(join(run, 'config.yaml'), 'utf8'), /^maxPositions: 256$/m);
});

test('train --model fine-tunes a model folder on a text file: its tokenizer files come along, the input stays as it was', async () => {
  const input = join(run, 'target', 'model');
  const before = hashTree(input);
  writeFileSync(join(dir, 'docs.txt'), selectTofuAuthors({ authors: 2, forget: 1 }).retainSet.slice(0, 4).map((i) => i.answer).join('\n') + '\n');
  const stdout = ok(lethe('train', '--model', input, '--data', 'docs.txt', '--epochs', '1', '--batch-size', '2', '--accumulation', '1', '--out', 'finetuned'));
  assert.match(stdout, /lethe train: 2 steps in .* completed → .*finetuned\/model/);
  const tuned = hashTree(join(dir, 'finetuned', 'model'));
  assert.equal(tuned['tokenizer.json'], before['tokenizer.json']);
  assert.notEqual(tuned['model.safetensors'], before['model.safetensors']);
  assert.deepEqual(hashTree(input), before);
});

test('unlearn (options from a YAML file and flags) writes a model, a log and its config; the input folder is untouched; --resume of the finished run changes nothing', async () => {
  const input = join(run, 'target', 'model');
  const before = hashTree(input);
  writeFileSync(join(dir, 'unlearn.yaml'), ['model: run/target/model', 'method: graddiff', 'tofu-authors: 3', 'forgetAuthors: 1', 'epochs: 1', 'batchSize: 8', 'accumulation: 1', 'lr: 0.001', ''].join('\n'));
  const out = join(dir, 'graddiff');
  const stdout = ok(lethe('unlearn', '--config', 'unlearn.yaml', '--eval-every', '2', '--eval-items', '4', '--out', out));
  assert.match(stdout, /lethe unlearn: graddiff \(scope all, \d+ trainable parameters\): 3 steps in .*final loss .*forgetLoss .*retainLoss .*completed → .*graddiff\/model \(weights of the best step, \d\)/);
  assert.ok(!stdout.includes('\u001b'), 'no escape sequences in piped output');
  assert.deepEqual(hashTree(input), before, 'the input model folder is byte-identical');
  await loadModel(join(out, 'model'));
  assert.ok(existsSync(join(out, 'model', 'tokenizer.json')));
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; eval?: object });
  assert.deepEqual(log.map((l) => l.step), [1, 2, 3]);
  assert.ok(log[1].eval && log[2].eval);
  assert.match(readFileSync(join(out, 'config.yaml'), 'utf8'), /^method: graddiff$/m);

  const model = hashTree(join(out, 'model'));
  const resumed = ok(lethe('unlearn', '--config', 'unlearn.yaml', '--eval-every', '2', '--eval-items', '4', '--out', out, '--resume'));
  assert.match(resumed, /3 steps \(0 run now, resumed from step 3\)/);
  assert.deepEqual(hashTree(join(out, 'model')), model, 'resuming a finished run leaves its model as it was');
  assert.equal(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').length, 3);
  assert.deepEqual(hashTree(input), before);

  // Resuming with other settings, or starting over in the same folder without saying so, is refused.
  const changed = lethe('unlearn', '--config', 'unlearn.yaml', '--out', out, '--resume', '--lr', '0.01');
  assert.equal(changed.status, 2);
  assert.match(changed.stderr, /^lethe: --resume: .*config\.yaml has lr: 0\.001 but this run asks 0\.01/);
  assert.doesNotMatch(changed.stdout, /memory estimate/, 'the refusal is the only line');
  const again = lethe('unlearn', '--config', 'unlearn.yaml', '--out', out);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already holds a run; add --resume .* or --overwrite/);
});

test('eval on TOFU writes results.json that passes the results schema, with forget quality and PrivLeak from the retain model', async () => {
  const out = join(dir, 'eval-target.json');
  const stdout = ok(lethe('eval', '--model', join(run, 'target', 'model'), '--authors', '3', '--forget-authors', '1', '--retain-model', join(run, 'retain', 'model'), '--max-new-tokens', '4', '--limit', '6', '--out', out));
  assert.match(stdout, /lethe eval: tofu on .*forget quality \d/);
  const results = await readResults(out);
  assert.equal(results.role, 'target');
  assert.equal(results.model.name, 'target');
  const { tofu, mia, memorisation } = results.metrics;
  assert.equal(typeof tofu.forgetQuality.value, 'number');
  assert.equal(tofu.forgetQuality.perItem?.length, 6);
  assert.equal(tofu.forgetProb.perItem?.length, 6);
  assert.equal(typeof tofu.forgetRouge.value, 'number');
  assert.equal(typeof mia.privLeak.value, 'number');
  assert.ok(mia.minKAuc.value! >= 0 && mia.minKAuc.value! <= 1);
  assert.equal(typeof memorisation.exactMemorization.value, 'number');
  const e = results.efficiency;
  assert.ok(e.tokens > 0 && e.peakRssMiB > 0 && e.wallSeconds > 0);
  const parameters = (await loadModel(join(run, 'target', 'model'))).size;
  // Both models are scored (same size), so FLOPs = 2·N·tokens exactly.
  assert.equal(e.flops, 2 * parameters * e.tokens);
});

test('eval without a retain model writes forget quality and PrivLeak as unavailable, saying why; the unlearned run is named with its method', async () => {
  const out = join(dir, 'graddiff', 'results.json');
  ok(lethe('eval', '--model', join(dir, 'graddiff', 'model'), ...TINY, '--no-generate', '--limit', '4', '--out', join(dir, 'graddiff')));
  const results = await readResults(out);
  assert.equal(results.role, 'unlearned');
  assert.equal(results.method?.name, 'graddiff');
  assert.equal(results.method?.options.lr, 0.001);
  const { tofu, mia } = results.metrics;
  assert.equal(tofu.forgetQuality.value, null);
  assert.match(tofu.forgetQuality.unavailable!, /retain model/);
  assert.equal(mia.privLeak.value, null);
  assert.match(mia.privLeak.unavailable!, /retain/);
  assert.equal(tofu.forgetRouge.value, null);
  assert.match(tofu.forgetRouge.unavailable!, /without generating/);
});

test('eval --benchmark text: VerbMem, KnowMem, MIA AUCs and PrivLeak against the retain model\'s results', async () => {
  const subset = selectTofuAuthors({ authors: 4, forget: 1 });
  const answers = (items: { answer: string }[]) => items.map((i) => i.answer).join('\n') + '\n';
  writeFileSync(join(dir, 'forget.txt'), answers(subset.forgetSet.slice(0, 8)));
  writeFileSync(join(dir, 'retain.txt'), answers(subset.retainSet.slice(0, 8)));
  writeFileSync(join(dir, 'holdout.txt'), answers(subset.retainSet.slice(40, 48))); // author 2: seen by neither model
  writeFileSync(join(dir, 'forget-qa.jsonl'), subset.forgetSet.slice(0, 5).map((i) => JSON.stringify({ question: i.question, answer: i.answer })).join('\n') + '\n');
  const common = ['--benchmark', 'text', '--forget', 'forget.txt', '--holdout', 'holdout.txt', '--prefix-tokens', '8', '--max-new-tokens', '6'];
  const retainOut = join(dir, 'text-retain.json');
  ok(lethe('eval', '--model', join(run, 'retain', 'model'), ...common, '--out', retainOut));
  const out = join(dir, 'text-target.json');
  ok(lethe('eval', '--model', join(run, 'target', 'model'), ...common, '--retain', 'retain.txt', '--forget-qa', 'forget-qa.jsonl', '--few-shot', '2', '--retain-results', retainOut, '--out', out));
  const results = await readResults(out);
  assert.equal(results.benchmark.name, 'text');
  const { muse, mia, memorisation } = results.metrics;
  for (const m of [muse.verbMem, muse.verbMemRetain, muse.knowMemForget]) assert.ok(m.value !== null && m.value >= 0 && m.value <= 1, JSON.stringify(m));
  assert.equal(muse.verbMem.perItem?.length, 8);
  assert.equal(muse.knowMemForget.perItem?.length, 3); // 5 items, 2 of them the examples
  assert.equal(mia.lossAuc.perItem?.length, 8);
  assert.equal(typeof mia.privLeak.value, 'number');
  assert.equal(memorisation.exactMemorization.perItem?.length, 8);
  const retainAuc = (await readResults(retainOut)).metrics.mia.minKAuc.value!;
  assert.ok(Math.abs(mia.privLeak.value! - ((1 - mia.minKAuc.value!) - (1 - retainAuc)) / (1 - retainAuc) * 100) < 1e-9);
});

test('bad input gives one clear line on stderr, no stack trace, and exit code 2', () => {
  writeFileSync(join(dir, 'bad.yaml'), 'method: npo\nlr: [0.1, 2\n');
  writeFileSync(join(dir, 'empty.jsonl'), '\n');
  const target = join(run, 'target', 'model');
  const cases: [string[], RegExp][] = [
    [['unlearn', '--model', target, '--method', 'forgetful', ...TINY, '--out', 'x'], /^lethe: --method: unknown method "forgetful" \(known: ga, graddiff, npo/],
    [['unlearn', '--config', 'bad.yaml', '--out', 'x'], /^lethe: .*bad\.yaml:\d+:\d+: not valid YAML: /],
    [['unlearn', '--model', target, '--method', 'npo', '--forget', 'missing.jsonl', '--out', 'x'], /^lethe: .*missing\.jsonl: file not found$/],
    [['train', '--preset', 'tiny', ...TINY, '--epochs', 'many', '--out', 'x'], /^lethe: --epochs: expected a number, got "many"$/],
    [['unlearn', '--model', target, '--method', 'npo', '--forget', 'empty.jsonl', '--out', 'x'], /^lethe: .*empty\.jsonl: no items \(the set is empty\)$/],
    [['unlearn', '--model', target, '--method', 'npo', ...TINY, '--out', join(target, 'unlearned')], /^lethe: --out .* is inside the input model folder/],
    [['eval', '--model', target, '--bogus', '--out', 'x.json'], /^lethe: unknown option '--bogus'$/],
  ];
  for (const [args, message] of cases) {
    const r = lethe(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0], message);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  assert.ok(!existsSync(join(target, 'unlearned')));
});
