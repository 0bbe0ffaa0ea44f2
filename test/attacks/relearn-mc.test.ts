// The relearning attack measured by multiple-choice accuracy (src/attacks/relearn-mc.ts): its
// before/after are the harness scoring of the model and of the model fine-tuned on the
// relearning text with the same settings; `recovered` and the intervals follow their
// definitions; relearning on text that states the answers raises accuracy; the input model is
// untouched. And `lethe attack --benchmark mc` refuses incomplete flags with one line.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { readMultipleChoiceFile } from '../../src/data/multiple-choice.ts';
import { plainTemplate, textPairs } from '../../src/data/templates.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { trainTokenizer } from '../../src/models/tokenizer/train-tokenizer.ts';
import { meanInterval } from '../../src/eval/stats/bootstrap.ts';
import { finetune } from '../../src/unlearn/finetune.ts';
import { mcAccuracies, relearnMcAttack } from '../../src/attacks/relearn-mc.ts';
import { lethe } from '../helpers/tiny-model.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lethe-relearn-mc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// 16 questions of the capability case's relay domain, and 16 alloy questions as the retain side.
const forget = readMultipleChoiceFile(join(root, 'data/capability/relays/mc-train.jsonl')).slice(0, 16);
const retain = readMultipleChoiceFile(join(root, 'data/capability/alloys/mc-train.jsonl')).slice(0, 16);
// Relearning text that states each forget answer in the question's own words.
const texts = forget.map((i) => `Question: ${i.question}\nAnswer: ${i.choices[i.answer]}`);
const tokenizer = trainTokenizer([...texts, ...[...forget, ...retain].flatMap((i) => [i.question, ...i.choices])], { vocabSize: 400 });
const model = createModel(presetConfig('tiny', { vocabSize: tokenizer.vocabSize, maxPositions: 128, eosTokenId: tokenizer.eosId ?? null }), { seed: 2 });
const scoring = { style: 'continuation' as const, description: null, numFewshot: 0 };
const settings = { steps: 40, lr: 1e-2, batchSize: 8, seed: 3 };

test('relearn_mc: before and after are the harness accuracies of the model and of the same fine-tuning; recovered and intervals by definition', async () => {
  const weights = Float32Array.from(model.params.get('model.embed_tokens.weight')!.data as Float32Array);
  const outcome = await relearnMcAttack(model, { tokenizer, template: plainTemplate(), texts, dataName: 'facts.txt', forget, retain, scoring, ...settings, targetForgetAcc: 1 });
  assert.deepEqual(model.params.get('model.embed_tokens.weight')!.data, weights, 'the attacked model was modified');

  const before = await mcAccuracies(model, { tokenizer, forget, retain, scoring });
  assert.equal(outcome.before.forgetAcc, before.forget.acc.value);
  assert.equal(outcome.before.retainAcc, before.retain!.acc.value);
  assert.equal(outcome.before.forgetChance, 0.25);

  // The same fine-tuning by hand: 16 documents in batches of 8 → 2 steps a pass, 40 steps = 20 passes.
  const run = await finetune(model, tokenizer, {
    data: textPairs(texts.map((text, i) => ({ text, source: { file: 'facts.txt', line: i + 1 } }))), template: plainTemplate(),
    lr: settings.lr, optimizer: { kind: 'adamw', weightDecay: 0 }, epochs: 20, batchSize: 8, seed: settings.seed, runDir: join(dir, 'by-hand'),
  });
  const afterHand = await mcAccuracies(run.model, { tokenizer, forget, retain, scoring });
  assert.equal(outcome.details.steps, 40);
  assert.equal(outcome.after.forgetAcc, afterHand.forget.acc.value);
  assert.equal(outcome.after.retainAcc, afterHand.retain!.acc.value);

  // Relearning on text stating the answers brings accuracy on those questions up.
  assert.ok(outcome.after.forgetAcc! > outcome.before.forgetAcc! + 0.2, `${outcome.before.forgetAcc} → ${outcome.after.forgetAcc}`);
  // recovered = (after − before) / (target − before), target 1 here.
  assert.ok(Math.abs(outcome.recovered! - (outcome.after.forgetAcc! - outcome.before.forgetAcc!) / (1 - outcome.before.forgetAcc!)) < 1e-12);
  // Intervals: the bootstrap interval of each side's per-item accuracy; the gain's, of the paired differences.
  const iv = outcome.details.intervals as { before: Record<string, [number, number]>; after: Record<string, [number, number]> };
  const expected = meanInterval(before.forget.acc.perItem) as { lower: number; upper: number };
  assert.deepEqual(iv.before.forgetAcc, [expected.lower, expected.upper]);
  assert.ok(iv.after.forgetAcc[0] <= outcome.after.forgetAcc! && outcome.after.forgetAcc! <= iv.after.forgetAcc[1]);
  const gain = outcome.details.forgetAccGain as { value: number; lower: number; upper: number };
  const diffs = afterHand.forget.acc.perItem.map((a, i) => a - before.forget.acc.perItem[i]);
  const g = meanInterval(diffs) as { lower: number; upper: number };
  assert.deepEqual([gain.lower, gain.upper], [g.lower, g.upper]);
  assert.ok(Math.abs(gain.value - (outcome.after.forgetAcc! - outcome.before.forgetAcc!)) < 1e-12);
});

test('relearn_mc: without the target accuracy recovered is null; no relearning text or no forget items is refused', async () => {
  await assert.rejects(relearnMcAttack(model, { tokenizer, template: plainTemplate(), texts: [], dataName: 'empty.txt', forget, retain: [], scoring }), /relearn: empty\.txt: no relearning documents/);
  await assert.rejects(relearnMcAttack(model, { tokenizer, template: plainTemplate(), texts, dataName: 'facts.txt', forget: [], retain, scoring }), /no forget-side multiple-choice items/);
  const outcome = await relearnMcAttack(model, { tokenizer, template: plainTemplate(), texts: texts.slice(0, 2), dataName: 'facts.txt', forget, retain: [], scoring, steps: 1, lr: 1e-4 });
  assert.equal(outcome.recovered, null);
  assert.equal(outcome.after.retainAcc, undefined); // no retain side: no retain scores
});

test('lethe attack --benchmark mc: incomplete or misplaced flags are refused with one line, exit 2', () => {
  const mc = join(root, 'data/capability/relays/mc-eval.jsonl');
  const text = join(root, 'data/capability/relays/corpus-train-facts.txt');
  const cases: [string[], RegExp][] = [
    [['--benchmark', 'mc', '--forget-mc', mc], /^lethe: --benchmark mc needs --forget-mc FILE and --relearn-text FILE/],
    [['--benchmark', 'mc', '--forget-mc', mc, '--relearn-text', text, '--attacks', 'quantize'], /^lethe: --attacks quantize: with --benchmark mc the attack is relearn$/],
    [['--forget-mc', mc], /^lethe: --forget-mc\/--retain-mc\/--relearn-text: only with --benchmark mc$/],
  ];
  for (const [args, message] of cases) {
    const r = lethe(dir, 'attack', '--model', join(dir, 'no-model'), ...args, '--out', join(dir, 'out.json'));
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], message);
  }
  assert.throws(() => readFileSync(join(dir, 'out.json')), /ENOENT/);
});
