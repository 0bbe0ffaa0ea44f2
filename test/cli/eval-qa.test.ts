// `lethe eval --benchmark qa` end to end as a child process on tiny models built here: TOFU's own
// items written out as a user's QA files give the same numbers as `--benchmark tofu` on the
// same items (one code path); model utility is over the retain set given; items without
// perturbed answers get the metrics that need none and the rest are unavailable with the
// reason; bad input gives one line and exit 2.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QaItem } from '../../src/data/qa-dataset.ts';
import { tofuSets } from '../../src/pipeline/eval-tofu.ts';
import { readResults, type Results } from '../../src/results/schema.ts';
import { lethe, tinyModelDir } from '../helpers/tiny-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-eval-qa-'));
const target = join(dir, 'target');
const retainModel = join(dir, 'retain');
const LIMIT = 5;
// The built-in case: 3 TOFU authors, 1 forgotten, 5 items per set; the same items as QA files.
const { sets } = tofuSets({ forgetSplit: 'forget10', tofuAuthors: 3, forgetAuthors: 1, limit: LIMIT });

const record = (i: QaItem, perturbed = true) => ({
  question: i.question,
  answer: i.answer,
  ...(i.paraphrasedAnswer !== undefined ? { paraphrased_answer: i.paraphrasedAnswer } : {}),
  ...(perturbed && i.perturbedAnswers ? { perturbed_answer: i.perturbedAnswers } : {}),
});

before(async () => {
  await tinyModelDir(target, 3);
  await tinyModelDir(retainModel, 7);
  // A JSON array, and JSON Lines: both read.
  writeFileSync(join(dir, 'forget.json'), JSON.stringify(sets.forget.map((i) => record(i)), null, 1));
  writeFileSync(join(dir, 'retain.jsonl'), sets.retain.map((i) => JSON.stringify(record(i))).join('\n') + '\n');
  writeFileSync(join(dir, 'holdout.jsonl'), sets.holdout!.map((i) => JSON.stringify(record(i))).join('\n') + '\n');
});

function ok(r: ReturnType<typeof lethe>): string {
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

const GEN = ['--max-new-tokens', '4', '--batch-size', '8'];

test('eval --benchmark qa on TOFU\'s own items gives the numbers of --benchmark tofu on the same items', async () => {
  const tofuOut = join(dir, 'tofu.json');
  const qaOut = join(dir, 'qa.json');
  ok(lethe(dir, 'eval', '--model', target, '--benchmark', 'tofu', '--tofu-authors', '3', '--forget-authors', '1', '--limit', String(LIMIT), '--retain-model', retainModel, ...GEN, '--out', tofuOut));
  ok(lethe(dir, 'eval', '--model', target, '--benchmark', 'qa', '--forget-qa', 'forget.json', '--retain-qa', 'retain.jsonl', '--holdout-qa', 'holdout.jsonl', '--retain-model', retainModel, ...GEN, '--out', qaOut));
  const [tofu, qa] = [await readResults(tofuOut), await readResults(qaOut)];
  assert.equal(qa.benchmark.name, 'qa');
  assert.deepEqual(qa.benchmark.items, { forget: LIMIT, retain: LIMIT, holdout: LIMIT });
  let compared = 0;
  for (const family of ['tofu', 'memorisation', 'mia'] as const) {
    for (const [metric, value] of Object.entries(tofu.metrics[family])) {
      if (metric === 'modelUtility' || metric.startsWith('realAuthors') || metric.startsWith('worldFacts')) continue;
      assert.deepEqual(qa.metrics[family][metric], value, `${family}.${metric}`);
      compared++;
    }
  }
  assert.ok(compared >= 12, `compared ${compared}`);
  // Forget quality is a number here (the retain model's truth ratios) and the same in both.
  assert.equal(typeof qa.metrics.tofu.forgetQuality.value, 'number');
  assert.equal(typeof qa.metrics.mia.lossAuc.value, 'number');
  for (const name of ['realAuthorsProb', 'worldFactsProb']) assert.equal(qa.metrics.tofu[name], undefined);

  // Model utility over the retain set given: the harmonic mean of its Prob, ROUGE and truth-ratio score.
  const t = qa.metrics.tofu;
  const three = [t.retainProb.value!, t.retainRouge.value!, t.retainTruthRatio.value!];
  const harmonic = three.includes(0) ? 0 : 3 / three.reduce((a, v) => a + 1 / v, 0);
  assert.ok(Math.abs(t.modelUtility.value! - harmonic) < 1e-12, `${t.modelUtility.value} vs ${harmonic}`);
});

test('eval --benchmark qa: items without perturbed answers get the metrics that need none; the rest unavailable with the reason', async () => {
  // Forget items 1 and 3 lack perturbed answers; the retain file has none at all.
  writeFileSync(join(dir, 'forget-some.jsonl'), sets.forget.map((i, k) => JSON.stringify(record(i, k !== 1 && k !== 3))).join('\n') + '\n');
  writeFileSync(join(dir, 'retain-none.jsonl'), sets.retain.map((i) => JSON.stringify(record(i, false))).join('\n') + '\n');
  const out = join(dir, 'partial.json');
  ok(lethe(dir, 'eval', '--model', target, '--benchmark', 'qa', '--forget-qa', 'forget-some.jsonl', '--retain-qa', 'retain-none.jsonl', '--retain-model', retainModel, '--no-generate', '--out', out));
  const r: Results = await readResults(out);
  const t = r.metrics.tofu;
  assert.equal(t.forgetProb.perItem?.length, LIMIT);
  assert.equal(t.forgetTruthRatio.perItem?.length, LIMIT - 2);
  assert.equal(typeof t.forgetQuality.value, 'number'); // on the 3 items with perturbed answers, both models
  assert.deepEqual((r.benchmark.withoutPerturbed as { forget: string[] }).forget, [`${join(dir, 'forget-some.jsonl')}:2`, `${join(dir, 'forget-some.jsonl')}:4`]);
  assert.equal(t.retainProb.perItem?.length, LIMIT);
  assert.equal(t.retainTruthRatio.value, null);
  assert.match(t.retainTruthRatio.unavailable!, /perturbed answers; none of the 5 retain items has any/);
  assert.equal(t.modelUtility.value, null);
  assert.match(t.modelUtility.unavailable!, /retain\.truthRatio/);
  assert.equal(r.metrics.memorisation.exactMemorization.perItem?.length, LIMIT);

  // No forget item with perturbed answers: no truth ratio, no forget quality, each saying why.
  // (Against the retain model: results evaluated on other forget items are refused, see provenance.)
  writeFileSync(join(dir, 'forget-none.jsonl'), sets.forget.map((i) => JSON.stringify(record(i, false))).join('\n') + '\n');
  const none = join(dir, 'none.json');
  ok(lethe(dir, 'eval', '--model', target, '--benchmark', 'qa', '--forget-qa', 'forget-none.jsonl', '--retain-qa', 'retain.jsonl', '--retain-model', retainModel, '--no-generate', '--out', none));
  const n = (await readResults(none)).metrics.tofu;
  assert.equal(n.forgetTruthRatio.value, null);
  assert.match(n.forgetTruthRatio.unavailable!, /none of the 5 forget items/);
  assert.equal(n.forgetQuality.value, null);
  assert.match(n.forgetQuality.unavailable!, /forget quality compares truth ratios/);
  assert.equal(typeof n.forgetProb.value, 'number');
});

test('attack --benchmark qa: the attacks on a user\'s QA files; the forget Prob before is the eval\'s', async () => {
  const out = join(dir, 'attacks.json');
  ok(lethe(dir, 'attack', '--model', target, '--benchmark', 'qa', '--forget-qa', 'forget.json', '--retain-qa', 'retain.jsonl', '--attacks', 'quantize', '--bits', '8', '--max-new-tokens', '0', '--out', out));
  const attacks = JSON.parse(readFileSync(out, 'utf8')) as Record<string, { before: Record<string, number>; after: Record<string, number> }>;
  const evaluated = (await readResults(join(dir, 'qa.json'))).metrics.tofu.forgetProb.value!;
  const [only] = Object.values(attacks);
  assert.ok(Math.abs(only.before.forgetProb - evaluated) < 1e-9, `${only.before.forgetProb} vs ${evaluated}`);
  const r = lethe(dir, 'attack', '--model', target, '--benchmark', 'qa', '--forget-qa', 'forget.json', '--out', out);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^lethe: --benchmark qa needs --forget-qa FILE and --retain-qa FILE\n$/);
});

test('eval --benchmark qa: bad input gives one line naming the problem and exit code 2', () => {
  writeFileSync(join(dir, 'overlap.jsonl'), JSON.stringify(record(sets.forget[0])) + '\n');
  writeFileSync(join(dir, 'broken.jsonl'), '{"question": "q?", "answer": "a"}\n{"question": "q2?"}\n');
  const cases: [string[], RegExp][] = [
    [['--forget-qa', 'forget.json'], /^lethe: --retain-qa: --benchmark qa needs --retain-qa FILE/],
    [['--forget-qa', 'forget.json', '--retain-qa', 'overlap.jsonl'], /overlap\.jsonl:1: the question also appears at .*forget\.json:\d+/],
    [['--forget-qa', 'broken.jsonl', '--retain-qa', 'retain.jsonl'], /broken\.jsonl:2: .*answer/],
    [['--forget-qa', 'forget.json', '--retain-qa', 'retain.jsonl', '--holdout', 'holdout.jsonl'], /^lethe: --holdout: with --benchmark qa, give --holdout-qa FILE$/],
  ];
  for (const [args, message] of cases) {
    const r = lethe(dir, 'eval', '--model', target, '--benchmark', 'qa', ...args, '--out', join(dir, 'bad.json'));
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], message);
  }
});
