// The whole pipeline on a tiny model, at the library level: train on three TOFU authors, unlearn
// one with GradDiff, evaluate both (one scoring pass per text), attack the unlearned model by
// relearning, write results.json files and the report. The unlearned model scores lower on forget
// Prob and Exact Memorization than its target, relearning brings part of it back, and the report
// shows all of it.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { attackResults, runAttacks } from '../../src/attacks/run-attacks.ts';
import { composeResults, writeResults } from '../../src/pipeline/results-file.ts';
import { selectTofuAuthors } from '../../src/data/tofu.ts';
import { plainTemplate } from '../../src/data/templates.ts';
import { Scorer } from '../../src/eval/score.ts';
import { evaluateTofu, type MetricFamilies } from '../../src/eval/tofu-benchmark.ts';
import type { Model } from '../../src/models/model.ts';
import { saveModel } from '../../src/models/save-model.ts';
import type { Tokenizer } from '../../src/models/tokenizer/tokenizer.ts';
import { readResults } from '../../src/results/schema.ts';
import { writeReport } from '../../src/report/report.ts';
import { tinyTofuTarget } from '../helpers/tiny-target.ts';
import { unlearn } from '../../src/unlearn/run.ts';

const template = plainTemplate();
const subset = selectTofuAuthors({ authors: 3, forget: 1 });
const sets = { forget: subset.forgetSet, retain: subset.retainSet.filter((i) => i.perturbedAnswers?.length) };
const pairs = (items: typeof subset.forgetSet) => items.map((i) => template.pair(i.question, i.answer));
const dir = mkdtempSync(join(tmpdir(), 'lethe-pipeline-'));

let tokenizer: Tokenizer;
let target: Model;
let unlearned: Model;
const metrics: Record<string, MetricFamilies> = {};

async function evaluate(model: Model): Promise<MetricFamilies> {
  const scorer = new Scorer(model, tokenizer, { template });
  const m = await evaluateTofu(scorer, sets, { template });
  await scorer.dispose();
  return m;
}

before(async () => {
  // The shared tiny target: trained on the forget and retain authors (test/helpers/tiny-target.ts).
  ({ tokenizer, target } = await tinyTofuTarget());
  unlearned = (await unlearn(target, tokenizer, {
    method: 'graddiff', forget: pairs(subset.forgetSet), retain: pairs(subset.retainSet), template,
    lr: 5e-4, optimizer: { kind: 'adamw', weightDecay: 0 }, epochs: 5, batchSize: 8, seed: 3, runDir: join(dir, 'unlearn'),
  })).model;
  metrics.target = await evaluate(target);
  metrics.graddiff = await evaluate(unlearned);
});

test('the unlearned model scores lower on forget Prob and Exact Memorization than its target', () => {
  const [t, u] = [metrics.target, metrics.graddiff];
  assert.ok(u.tofu.forgetProb.value! < t.tofu.forgetProb.value!, `forget Prob ${t.tofu.forgetProb.value} → ${u.tofu.forgetProb.value}`);
  assert.ok(u.memorisation.exactMemorization.value! < t.memorisation.exactMemorization.value!, `EM ${t.memorisation.exactMemorization.value} → ${u.memorisation.exactMemorization.value}`);
});

test('relearning brings part of the forgotten knowledge back, and the report shows every number', async () => {
  const targetProbs = metrics.target.tofu.forgetProb.perItem;
  const outcomes = await runAttacks({ model: unlearned }, { tokenizer, template, forgetSet: sets.forget, retainSet: subset.retainSet, targetForgetProbs: targetProbs, seed: 1 }, ['relearn'], { relearn: { runDir: join(dir, 'relearn') } });
  const relearn = outcomes.find((o) => o.name === 'relearn')!;
  assert.ok(relearn.after.forgetProb! > relearn.before.forgetProb!, `relearn: ${relearn.before.forgetProb} → ${relearn.after.forgetProb}`);
  assert.ok(relearn.recovered! > 0 && relearn.recovered! <= 1, `recovered ${relearn.recovered}`);

  const runs: string[] = [];
  for (const [name, model] of [['target', target], ['graddiff', unlearned]] as const) {
    const modelDir = join(dir, name, 'model');
    await saveModel(model, modelDir);
    const results = composeResults({ modelDir, name, role: name === 'target' ? 'target' : 'unlearned', benchmark: { name: 'tofu', forgetSplit: 'subset' }, metrics: metrics[name], efficiency: { wallSeconds: 1, tokens: 1, flops: 1, peakRssMiB: 1 } });
    // JSON drops the optional scores an attack did not measure, as the file would.
    if (name === 'graddiff') results.attacks = JSON.parse(JSON.stringify(attackResults(outcomes))) as NonNullable<typeof results.attacks>;
    runs.push(await writeResults(join(dir, name, 'results.json'), results));
    // What was written reads back, with the same numbers.
    const back = await readResults(runs[runs.length - 1]);
    assert.equal(back.model.name, name);
    assert.equal(back.metrics.tofu.forgetProb.value, results.metrics.tofu.forgetProb.value);
  }
  const out = join(dir, 'report.html');
  await writeReport(runs, out);
  const html = readFileSync(out, 'utf8');
  for (const text of ['target', 'graddiff', 'relearn']) assert.ok(html.includes(text), `the report mentions ${text}`);
  const shown = (v: number) => [v.toFixed(3), v.toFixed(2), v.toPrecision(3)].some((s) => html.includes(s));
  for (const v of [metrics.target.tofu.forgetProb.value!, metrics.graddiff.tofu.forgetProb.value!, relearn.after.forgetProb!]) assert.ok(shown(v), `the report shows ${v}`);
});
