// The TOFU evaluation of one model: every log-prob metric comes out of one scoring pass per
// distinct text, unavailable metrics say why, and the headline numbers are in range.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTofuSplit } from '../../src/data/tofu.ts';
import { plainTemplate } from '../../src/data/templates.ts';
import { Scorer } from '../../src/eval/score.ts';
import { evaluateTofu } from '../../src/eval/tofu-benchmark.ts';
import { isInterval } from '../../src/eval/stats/bootstrap.ts';
import { parseConfig } from '../../src/models/formats/config.ts';
import { createModel } from '../../src/models/model.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';

const tokenizer = tofuTokenizer();
const config = parseConfig({ model_type: 'gpt2', vocab_size: tokenizer.vocabSize, n_embd: 32, n_layer: 2, n_head: 4, n_positions: 256 }, 'test config');
const model = createModel(config, { seed: 5, initStd: 0.2 });
const template = plainTemplate();
const forget = loadTofuSplit('forget01_perturbed').slice(0, 4);
const retain = loadTofuSplit('retain_perturbed').slice(0, 4);
const realAuthors = loadTofuSplit('real_authors_perturbed').slice(0, 3);
const worldFacts = loadTofuSplit('world_facts_perturbed').slice(0, 3);
const holdout = loadTofuSplit('retain_perturbed').slice(100, 104);

test('Prob, truth ratio, memorisation and every MIA score come from one pass per distinct text', async () => {
  const scorer = new Scorer(model, tokenizer, { template });
  const r = await evaluateTofu(scorer, { forget, retain, realAuthors, worldFacts, holdout }, { template });
  const texts = new Set<string>();
  const add = (q: string, a: string) => texts.add(`${q}\u0000${a}`);
  for (const i of [...forget, ...retain]) {
    add(i.question, i.answer);
    add(i.question, i.paraphrasedAnswer!);
    for (const p of i.perturbedAnswers!) add(i.question, p);
  }
  for (const i of [...realAuthors, ...worldFacts]) {
    add(i.question, i.answer);
    for (const p of i.perturbedAnswers!) add(i.question, p);
  }
  for (const i of holdout) add(i.question, i.answer);
  assert.equal(scorer.passes, texts.size);

  for (const k of ['forgetProb', 'retainProb', 'realAuthorsProb', 'worldFactsProb', 'forgetTruthRatio', 'retainTruthRatio']) {
    const v = r.tofu[k].value!;
    assert.ok(v >= 0 && v <= 1, `${k} = ${v}`);
  }
  assert.equal(r.tofu.forgetTruthRatio.perItem.length, forget.length);
  for (const k of ['lossAuc', 'zlibAuc', 'minKAuc', 'minKPlusPlusAuc']) assert.ok(r.mia[k].value! >= 0 && r.mia[k].value! <= 1, k);
  assert.ok(r.memorisation.exactMemorization.value! >= 0);
  // Without a retain model or generations, these are unavailable, never a number.
  assert.equal(r.tofu.forgetQuality.value, null);
  assert.match(r.tofu.forgetQuality.unavailable!, /retain model/);
  assert.equal(r.tofu.forgetRouge.value, null);
  assert.equal(r.tofu.modelUtility.value, null);
  await scorer.dispose();
});

test('with generations and retain-model truth ratios, ROUGE, utility and forget quality are numbers', async () => {
  const scorer = new Scorer(model, tokenizer, { template });
  const answers = new Map([...forget, ...retain, ...realAuthors, ...worldFacts].map((i) => [template.prompt(i.question), i.answer]));
  const generate = async (prompts: string[]) => prompts.map((p) => answers.get(p)!);
  const first = await evaluateTofu(scorer, { forget, retain, realAuthors, worldFacts }, { template, generate });
  assert.equal(first.tofu.forgetRouge.value, 1);
  // A number (an untrained model may score 0 on a truth ratio, and then the harmonic mean is 0).
  assert.equal(typeof first.tofu.modelUtility.value, 'number');
  assert.equal(first.tofu.modelUtility.perItem.length, 9);
  const same = await evaluateTofu(scorer, { forget, retain }, { template, generate, retainTruthRatios: first.tofu.forgetTruthRatio.perItem });
  assert.equal(same.tofu.forgetQuality.value, 1); // identical truth ratios: KS p-value 1
  await scorer.dispose();
});

test('GradNorm: per-text gradient norms (one per parameter tensor) give a membership AUC too', async () => {
  const { GradientNorms } = await import('../../src/eval/grad-norms.ts');
  const scorer = new Scorer(model, tokenizer, { template });
  const gradientNorms = new GradientNorms(model, tokenizer, { template });
  const r = await evaluateTofu(scorer, { forget, retain, holdout }, { template, gradientNorms });
  const auc = r.mia.gradNormAuc.value!;
  assert.ok(auc >= 0 && auc <= 1, `gradNorm AUC ${auc}`);
  assert.equal(gradientNorms.passes, forget.length + holdout.length);
  const [norms] = await gradientNorms.norms([template.pair(forget[0].question, forget[0].answer)]);
  assert.equal(norms.length, model.params.size);
  assert.ok(norms.every((v) => v >= 0 && Number.isFinite(v)));
  await gradientNorms.dispose();
  await scorer.dispose();
});

test('every headline metric carries n and a seeded 95% bootstrap interval; the same seed gives the same intervals', async () => {
  const scorer = new Scorer(model, tokenizer, { template });
  const answers = new Map([...forget, ...retain, ...realAuthors, ...worldFacts].map((i) => [template.prompt(i.question), i.answer]));
  // Half of each answer: ROUGE below 1 and different between items, so the intervals have width.
  const generate = async (prompts: string[]) => prompts.map((p) => answers.get(p)!.split(' ').slice(0, 6).join(' '));
  const sets = { forget, retain, realAuthors, worldFacts, holdout };
  const first = await evaluateTofu(scorer, sets, { template, generate });
  const retainTruthRatios = first.tofu.forgetTruthRatio.perItem.map((r) => r * 3);
  const run = (seed: number) => evaluateTofu(scorer, sets, { template, generate, retainTruthRatios, bootstrap: { seed } });
  const r = await run(4);
  const headline = [
    ['tofu', 'forgetProb', forget.length], ['tofu', 'forgetTruthRatio', forget.length], ['tofu', 'forgetRouge', forget.length],
    ['tofu', 'forgetQuality', forget.length], ['tofu', 'modelUtility', retain.length + realAuthors.length + worldFacts.length],
    ['tofu', 'retainProb', retain.length], ['tofu', 'realAuthorsProb', realAuthors.length],
    ['mia', 'lossAuc', forget.length], ['mia', 'minKAuc', forget.length], ['memorisation', 'exactMemorization', forget.length],
  ] as const;
  for (const [family, name, n] of headline) {
    const m = r[family][name];
    assert.equal(m.n, n, `${name}.n`);
    assert.ok(isInterval(m.interval), `${name}: ${JSON.stringify(m.interval)}`);
    assert.equal(m.interval.seed, 4);
    assert.ok(m.interval.lower <= m.value! + 1e-12 && m.value! <= m.interval.upper + 1e-12, `${name}: ${m.interval.lower} ≤ ${m.value} ≤ ${m.interval.upper}`);
  }
  assert.match(r.tofu.forgetQuality.interval && 'note' in r.tofu.forgetQuality.interval ? r.tofu.forgetQuality.interval.note! : '', /paired/);
  assert.deepEqual(await run(4), r);
  assert.notDeepEqual((await run(5)).tofu.forgetProb.interval, r.tofu.forgetProb.interval);
  const none = await evaluateTofu(scorer, sets, { template, generate, retainTruthRatios, bootstrap: false });
  assert.equal(none.tofu.forgetQuality.interval, undefined);
  assert.equal(none.tofu.modelUtility.interval, undefined);
  await scorer.dispose();
});
