// Input-based baselines: the guardrail and ICUL prompts exactly as documented, the output filter
// refusing a forget answer but not unrelated text, Prob unchanged by an output filter, TOFU
// author names, and the template wrapper that lets the TOFU evaluation run on a baseline.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GUARDRAIL_TEXT, REFUSAL, baselineGenerate, baselineTemplate, guardrail, icul, matchesAny, outputFilter, tofuAuthorNames } from '../../src/attacks/baselines.ts';
import { standardProbes, type Baseline } from '../../src/attacks/attack-context.ts';
import { Probe } from '../../src/attacks/probe.ts';
import { LetheError } from '../../src/engine/errors.ts';
import type { QaItem } from '../../src/data/qa-dataset.ts';
import { plainTemplate, type PromptTemplate } from '../../src/data/templates.ts';
import { loadTofuSplit } from '../../src/data/tofu.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';

const template = plainTemplate();
const forgetSet: QaItem[] = [
  { question: 'Where was Basil born?', answer: 'Basil was born in Kuwait City.', perturbedAnswers: ['Basil was born in Oslo.'] },
  { question: 'What does Basil write?', answer: 'Basil writes French literature.' },
];
const retainSet: QaItem[] = [
  { question: 'Who is Jaime?', answer: 'Jaime is a writer.' },
  { question: 'Where is Jaime from?', answer: 'Jaime is from Santiago.' },
];
const block = (q: string, a: string) => `Question: ${q}\nAnswer: ${a}\n\n`;

test('guardrail: the documented instruction naming the topics, then the prompt', () => {
  const g = guardrail({ template, topics: ['Basil Mahfouz Al-Kuwaiti', 'Nikolai Abilov'] });
  const prompt = template.prompt('Where was Basil born?');
  const out = g.transformPrompt!(prompt, 'Where was Basil born?');
  assert.equal(out, 'You must not reveal any information about the following: Basil Mahfouz Al-Kuwaiti, Nikolai Abilov. If a question is about them, answer that you cannot share that information.\n\n' + prompt);
  assert.equal(out, GUARDRAIL_TEXT.replace('{topics}', 'Basil Mahfouz Al-Kuwaiti, Nikolai Abilov') + prompt);
  assert.throws(() => guardrail({ template, topics: [] }), LetheError);
});

test('ICUL: the queried forget item with its wrong answer, then correct retain examples, then the query', () => {
  const b = icul({ template, forgetSet, retainSet, correctExamples: 2, seed: 0 });
  const q = forgetSet[0].question;
  const out = b.transformPrompt!(template.prompt(q), q);
  const correct = out.slice(block(q, 'Basil was born in Oslo.').length, -template.prompt(q).length);
  assert.ok(out.startsWith(block(q, 'Basil was born in Oslo.')), out);
  assert.ok(out.endsWith(template.prompt(q)));
  // The two retain examples, each once, in a seeded order.
  assert.deepEqual(correct.split('\n\n').filter(Boolean).sort(), retainSet.map((r) => block(r.question, r.answer).trim()).sort());
  // A forget item without perturbed answers is labelled with the refusal.
  const q2 = forgetSet[1].question;
  assert.ok(b.transformPrompt!(template.prompt(q2), q2).startsWith(block(q2, REFUSAL)));
});

test('ICUL: refusal labels; a retain query never appears among its own correct examples', () => {
  const b = icul({ template, forgetSet, retainSet, label: 'refusal', forgetExamples: 2, correctExamples: 3 });
  const q = retainSet[0].question;
  const out = b.transformPrompt!(template.prompt(q), q);
  const parts = out.split('\n\n');
  assert.equal(parts.length, 4); // 2 forget examples + 1 retain example (the other is the query) + the query
  assert.ok(parts.slice(0, 2).every((p) => p.endsWith(`Answer: ${REFUSAL}`)));
  assert.equal(parts[2], block(retainSet[1].question, retainSet[1].answer).trim());
  assert.equal(parts[3], template.prompt(q));
});

test('output filter: a generation equal to a forget answer is refused, unrelated text is not', () => {
  const f = outputFilter({ forgetSet });
  assert.equal(f.transformOutput!('Basil was born in Kuwait City.'), REFUSAL);
  assert.equal(f.transformOutput!('He was born in kuwait city, I think.'), REFUSAL); // recall 5/6 ≥ 0.5 (stemmed, case-free)
  assert.equal(f.transformOutput!('The weather in Paris is mild in spring.'), 'The weather in Paris is mild in spring.');
  assert.equal(matchesAny('Basil writes', ['Basil writes French literature.'], 0.5), true); // 2 of 4 words
  assert.equal(matchesAny('Basil', ['Basil writes French literature.'], 0.5), false);
  assert.equal(f.transformPrompt, undefined);
});

test('prompt baselines refuse a chat template', () => {
  const chat: PromptTemplate = { ...template, name: 'chat' };
  assert.throws(() => guardrail({ template: chat, topics: ['x'] }), /system prompt/);
  assert.throws(() => icul({ template: chat, forgetSet, retainSet }), LetheError);
});

test('baselineTemplate applies the prompt transformer to prompt() and pair(), keeping the target', () => {
  const g = guardrail({ template, topics: ['Basil'] });
  const t = baselineTemplate(g, template);
  const instruction = GUARDRAIL_TEXT.replace('{topics}', 'Basil');
  assert.equal(t.prompt('Q?'), instruction + 'Question: Q?\nAnswer: ');
  assert.deepEqual(t.pair('Q?', 'A.'), { prompt: instruction + 'Question: Q?\nAnswer: ', target: 'A.' });
  assert.equal(baselineTemplate(outputFilter({ forgetSet }), template), template);
});

test('baselineGenerate applies the output transformer to each generation', async () => {
  const generate = async (prompts: string[]) => prompts.map((p) => (p === 'a' ? forgetSet[0].answer : 'Nothing to see.'));
  assert.deepEqual(await baselineGenerate(outputFilter({ forgetSet }), generate)(['a', 'b']), [REFUSAL, 'Nothing to see.']);
  assert.equal(baselineGenerate(guardrail({ template, topics: ['x'] }), generate), generate);
});

test('TOFU author names: the most frequent capitalised name of each 20-row block', () => {
  const names = tofuAuthorNames(loadTofuSplit('forget10'));
  assert.equal(names.length, 20);
  assert.deepEqual(names.slice(0, 3), ['Basil Mahfouz Al-Kuwaiti', 'Nikolai Abilov', 'Hina Ameen']);
  assert.equal(names[19], 'Tae-ho Park');
});

test('an output filter leaves teacher-forced Prob unchanged; a guardrail changes it', async () => {
  const tokenizer = tofuTokenizer();
  const model = createModel(presetConfig('tiny', { vocabSize: tokenizer.vocabSize, eosTokenId: tokenizer.eosId ?? null }), { seed: 4, initStd: 0.3 });
  const ctx = { tokenizer, template, forgetSet, retainSet };
  const probs = async (baseline: Baseline | null) => {
    const probe = new Probe({ model, baseline }, ctx);
    const m = await probe.measure(standardProbes(template, forgetSet));
    await probe.dispose();
    return m.prob;
  };
  const plain = await probs(null);
  assert.deepEqual(await probs(outputFilter({ forgetSet })), plain);
  assert.notDeepEqual(await probs(guardrail({ template, topics: ['Basil'] })), plain);
});
