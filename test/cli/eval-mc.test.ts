// `lethe eval --benchmark mc` end to end as a child process on tiny models built here: each
// file reported apart and pooled per side, the numbers equal to scoring the same items in
// process with the library's multiple-choice evaluation, the harness's standard error and the
// bootstrap interval in results.json, k-shot prompts from a few-shot file, the report's tables
// and forget-vs-retain plot; bad input gives one line and exit 2.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMultipleChoiceFile } from '../../src/data/multiple-choice.ts';
import { evaluateMultipleChoice, multipleChoiceScorer } from '../../src/eval/multiple-choice/score-mc.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { loadTokenizer } from '../../src/models/tokenizer/load-tokenizer.ts';
import { readResults, type McSetRecord } from '../../src/results/schema.ts';
import { lethe, tinyModelDir } from '../helpers/tiny-model.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { tofuChatTokenizer } from '../models/tokenizer/trained.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/multiple-choice/', import.meta.url));
const WMDP_JSON = join(FIXTURES, 'wmdp-sample.json');
const WMDP_JSONL = join(FIXTURES, 'wmdp-sample.jsonl');
const MMLU_CSV = join(FIXTURES, 'high_school_mathematics_test.csv');
const dir = mkdtempSync(join(tmpdir(), 'lethe-eval-mc-'));
const models = [join(dir, 'model-a'), join(dir, 'model-b')];

before(async () => {
  await tinyModelDir(models[0], 3);
  await tinyModelDir(models[1], 5);
});

function ok(r: ReturnType<typeof lethe>): string {
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

const set = (sets: McSetRecord[], side: string, name: string) => sets.find((s) => s.side === side && s.name === name)!;

test('eval --benchmark mc: each file apart and pooled per side, the same numbers as the library scoring the items in process', async () => {
  const out = join(dir, 'a.json');
  const stdout = ok(lethe(dir, 'eval', '--model', models[0], '--benchmark', 'mc', '--forget-mc', WMDP_JSON, '--forget-mc', WMDP_JSONL, '--retain-mc', MMLU_CSV, '--out', out));
  assert.match(stdout, /forget acc/);
  const results = await readResults(out);
  assert.equal(results.benchmark.name, 'mc');
  const mc = results.multipleChoice!;
  assert.deepEqual(mc.sets.map((s) => [s.side, s.pooled, s.items]), [['forget', false, 2], ['forget', false, 2], ['forget', true, 4], ['retain', false, 3], ['retain', true, 3]]);

  // In process, the same items on the same model: the same per-item accuracies.
  const model = await loadModel(models[0]);
  const tokenizer = loadTokenizer(models[0]);
  const scorer = multipleChoiceScorer(model, tokenizer);
  try {
    for (const [side, file] of [['forget', WMDP_JSON], ['forget', WMDP_JSONL], ['retain', MMLU_CSV]] as const) {
      const expected = await evaluateMultipleChoice(scorer, readMultipleChoiceFile(file), file);
      const got = set(mc.sets, side, file);
      assert.deepEqual(got.acc.perItem, expected.acc.perItem, file);
      assert.deepEqual(got.accNorm.perItem, expected.accNorm.perItem, file);
      assert.equal(got.acc.value, expected.acc.value);
      assert.equal(got.chance, 0.25); // four options everywhere
    }
  } finally {
    await scorer.dispose();
  }

  // Pooled: the union of the files' items; the harness's pooled stderr from each file's.
  const pooled = set(mc.sets, 'forget', 'forget (pooled)');
  const parts = [set(mc.sets, 'forget', WMDP_JSON), set(mc.sets, 'forget', WMDP_JSONL)];
  assert.deepEqual(pooled.acc.perItem, parts.flatMap((p) => p.acc.perItem!));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.equal(pooled.acc.value, mean(pooled.acc.perItem!));
  // stderr of one file: sample standard deviation / √n (lm_eval mean_stderr), by hand.
  const csv = set(mc.sets, 'retain', MMLU_CSV);
  const xs = csv.acc.perItem!;
  const m = mean(xs);
  assert.ok(Math.abs(csv.acc.stderr! - Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) / xs.length)) < 1e-12);
  // pooled_sample_stderr over the two forget files (n = 2 each): √(Σ(n_i−1)·se_i²·n_i/(N−k) / N).
  const se = parts.map((p) => p.acc.stderr!);
  assert.ok(Math.abs(pooled.acc.stderr! - Math.sqrt((se[0] ** 2 * 2 + se[1] ** 2 * 2) / (4 - 2) / 4)) < 1e-12);
  // A bootstrap interval on acc, inside [0, 1] and around the value.
  const ci = pooled.acc.interval!;
  assert.ok('lower' in ci && ci.lower <= pooled.acc.value! && pooled.acc.value! <= ci.upper && ci.lower >= 0 && ci.upper <= 1, JSON.stringify(ci));
  // The headline family: pooled per side, with chance.
  assert.equal(results.metrics.mc.forgetAcc.value, pooled.acc.value);
  assert.equal(results.metrics.mc.retainAcc.value, set(mc.sets, 'retain', 'retain (pooled)').acc.value);
  assert.equal(results.metrics.mc.forgetChance.value, 0.25);
});

test('eval --benchmark mc: continuation style with k-shot prompts from a few-shot file matches the library with the same shots', async () => {
  const dev = join(dir, 'dev.jsonl');
  writeFileSync(dev, [
    { question: 'Which metal is the Orrin alloy mostly made of?', choices: ['tin', 'copper', 'zinc', 'lead'], answer: 1 },
    { question: 'How many poles does a Veltro relay have?', choices: ['two', 'three', 'four', 'five'], answer: 2 },
  ].map((x) => JSON.stringify(x)).join('\n') + '\n');
  const out = join(dir, 'shots.json');
  ok(lethe(dir, 'eval', '--model', models[0], '--benchmark', 'mc', '--forget-mc', WMDP_JSON, '--mc-style', 'continuation', '--num-fewshot', '2', '--fewshot-mc', dev, '--out', out));
  const results = await readResults(out);
  assert.equal(results.multipleChoice!.style, 'continuation');
  assert.equal(results.multipleChoice!.numFewshot, 2);
  const model = await loadModel(models[0]);
  const tokenizer = loadTokenizer(models[0]);
  const scorer = multipleChoiceScorer(model, tokenizer);
  try {
    const expected = await evaluateMultipleChoice(scorer, readMultipleChoiceFile(WMDP_JSON), WMDP_JSON, { style: 'continuation', numFewshot: 2, fewshotItems: readMultipleChoiceFile(dev) });
    const got = set(results.multipleChoice!.sets, 'forget', WMDP_JSON);
    assert.deepEqual(got.accNorm.perItem, expected.accNorm.perItem);
    assert.deepEqual(got.accBytes.perItem, expected.accBytes.perItem);
  } finally {
    await scorer.dispose();
  }
  // A retain side was not given: no retain rows, no retain headline.
  assert.equal(results.metrics.mc.retainAcc, undefined);
});

test('eval --benchmark mc --template chat: prompts through the chat template, the same numbers as the library with chat options', async () => {
  const chatDir = join(dir, 'chat-model');
  const chat = tofuChatTokenizer();
  await saveModel(createModel(presetConfig('tiny', { vocabSize: chat.vocabSize, maxPositions: 128 }), { seed: 4, initStd: 0.1 }), chatDir);
  chat.save(chatDir);
  const out = join(dir, 'chat.json');
  ok(lethe(dir, 'eval', '--model', chatDir, '--benchmark', 'mc', '--forget-mc', WMDP_JSONL, '--template', 'chat', '--out', out));
  const results = await readResults(out);
  assert.equal(results.multipleChoice!.template, 'chat');
  const model = await loadModel(chatDir);
  const tokenizer = loadTokenizer(chatDir);
  const scorer = multipleChoiceScorer(model, tokenizer);
  try {
    const items = readMultipleChoiceFile(WMDP_JSONL);
    const expected = await evaluateMultipleChoice(scorer, items, WMDP_JSONL, { chat: { tokenizer } });
    const plain = await evaluateMultipleChoice(scorer, items, WMDP_JSONL);
    const got = set(results.multipleChoice!.sets, 'forget', WMDP_JSONL);
    assert.deepEqual(got.acc.perItem, expected.acc.perItem);
    assert.deepEqual(got.accNorm.perItem, expected.accNorm.perItem);
    // The chat prompts are other texts than the plain ones: their option log-likelihoods differ.
    assert.notDeepEqual(expected.items.map((i) => i.loglikelihoods), plain.items.map((i) => i.loglikelihoods));
  } finally {
    await scorer.dispose();
  }
});

test('report: a table per multiple-choice set with chance, and forget accuracy vs retain accuracy across runs', async () => {
  const common = ['--benchmark', 'mc', '--forget-mc', WMDP_JSON, '--retain-mc', MMLU_CSV];
  ok(lethe(dir, 'eval', '--model', models[0], ...common, '--name', 'run-a', '--out', join(dir, 'run-a.json')));
  ok(lethe(dir, 'eval', '--model', models[1], ...common, '--name', 'run-b', '--out', join(dir, 'run-b.json')));
  const page = join(dir, 'report.html');
  ok(lethe(dir, 'report', join(dir, 'run-a.json'), join(dir, 'run-b.json'), '--out', page));
  const html = readFileSync(page, 'utf8');
  assert.match(html, /<section id="multiple-choice">/);
  assert.equal(html.match(/<h3>(forget|retain) set: /g)?.length, 4); // the file and the pool of each side
  assert.match(html, /<th>chance<\/th>/);
  assert.match(html, /<td class="num">0\.250<\/td>/);
  assert.equal(html.match(/<circle class="run"/g)?.length, 2);
  assert.equal(html.match(/<line class="chance"/g)?.length, 2);
});

test('eval --benchmark mc: bad input gives one line naming the problem and exit code 2', () => {
  const broken = join(dir, 'broken.jsonl');
  writeFileSync(broken, '{"question": "q?", "choices": ["a", "b"], "answer": 0}\n{"question": "q2?", "choices": ["a"], "answer": 5}\n');
  const cases: [string[], RegExp][] = [
    [['--benchmark', 'mc', '--forget-mc', broken], /broken\.jsonl:2: /],
    [['--benchmark', 'mc', '--forget-mc', WMDP_JSON, '--num-fewshot', '2'], /^lethe: --num-fewshot: needs --fewshot-mc FILE/],
    [['--benchmark', 'mc'], /^lethe: --forget-mc: --benchmark mc needs --forget-mc FILE/],
    [['--benchmark', 'tofu', '--forget-mc', WMDP_JSON], /^lethe: --forget-mc: only with --benchmark mc$/],
    [['--benchmark', 'mc', '--forget-mc', WMDP_JSON, '--retain-mc', WMDP_JSON], /wmdp-sample\.json: given twice/],
    [['--benchmark', 'mc', '--forget-mc', WMDP_JSON, '--mc-style', 'fancy'], /^lethe: --mc-style: expected one of default, continuation/],
  ];
  for (const [args, message] of cases) {
    const r = lethe(dir, 'eval', '--model', models[0], ...args, '--out', join(dir, 'bad.json'));
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], message);
  }
});
