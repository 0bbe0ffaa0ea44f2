// Items longer than the context before scoring or training (src/pipeline/overlong.ts): what each
// policy keeps, and the record results.json gets (counts and each item's file:line).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePair } from '../../src/data/batches.ts';
import type { QaItem, TextItem } from '../../src/data/qa-dataset.ts';
import { plainTemplate, templatePairs } from '../../src/data/templates.ts';
import { fitQaItems, fitTexts } from '../../src/pipeline/overlong.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';

const tokenizer = tofuTokenizer();
const template = plainTemplate();
const long = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
const items: QaItem[] = [
  { question: 'Who wrote it?', answer: 'Jaime Vasquez.', source: { file: 'qa.jsonl', line: 1 } },
  { question: 'What else?', answer: long, source: { file: 'qa.jsonl', line: 2 } },
  { question: 'Where?', answer: 'Santiago.', source: { file: 'qa.jsonl', line: 4 } },
];
const length = (item: QaItem) => encodePair(tokenizer, templatePairs(template, [item])[0], template).ids.length;
const ctx = 40;

test('the overlong item is longer than the context, the others fit (the premise of the tests below)', () => {
  assert.ok(length(items[1]) > ctx && length(items[0]) <= ctx && length(items[2]) <= ctx);
});

test('skip keeps the others in order and records the item by file:line with its length', () => {
  const fit = fitQaItems(tokenizer, template, items, 'skip', ctx);
  assert.deepEqual(fit.items.map((i) => i.source?.line), [1, 4]);
  assert.deepEqual(fit.record, { policy: 'skip', skipped: 1, truncated: 0, items: [{ where: 'qa.jsonl:2', tokens: length(items[1]), action: 'skipped' }] });
});

test('truncate cuts only the answer so that the whole fits, and records it; error names file and line', () => {
  const fit = fitQaItems(tokenizer, template, items, 'truncate', ctx);
  assert.equal(fit.items.length, 3);
  const cut = fit.items[1];
  assert.equal(cut.question, items[1].question);
  assert.ok(long.startsWith(cut.answer) && cut.answer.length < long.length && cut.answer.length > 0);
  assert.ok(length(cut) <= ctx);
  assert.deepEqual([fit.record?.truncated, fit.record?.skipped, fit.record?.items[0].action], [1, 0, 'truncated']);
  assert.throws(() => fitQaItems(tokenizer, template, items, 'error', ctx), /^LetheError: qa\.jsonl:2: \d+ tokens \(prompt \d+ \+ target \d+\) exceed the context length 40/);
});

test('texts: nothing to record when every document fits', () => {
  const texts: TextItem[] = [{ text: 'a short line', source: { file: 't.txt', line: 1 } }, { text: long, source: { file: 't.txt', line: 2 } }];
  assert.equal(fitTexts(tokenizer, texts, 'skip', 400).record, null);
  const fit = fitTexts(tokenizer, texts, 'skip', ctx);
  assert.deepEqual(fit.texts, ['a short line']);
  assert.equal(fit.record?.items[0].where, 't.txt:2');
});

// Found by a newcomer: on a model with a 128-token context, TOFU items whose answer fits but whose
// perturbed (or paraphrased) answer does not failed the whole evaluation with "item 9", under any
// --overlong. Every scored variant counts, and the item is named by its file and line.
test('an item whose perturbed or paraphrased answer does not fit is skipped (or named by file:line under error), whatever its answer', () => {
  const withVariants: QaItem[] = [
    { ...items[0], perturbedAnswers: ['Someone else.', long] },
    { ...items[2], paraphrasedAnswer: long },
    { question: 'When?', answer: 'In 1958.', perturbedAnswers: ['In 1960.'], source: { file: 'qa.jsonl', line: 7 } },
  ];
  const skip = fitQaItems(tokenizer, template, withVariants, 'skip', ctx);
  assert.deepEqual(skip.items.map((i) => i.source?.line), [7]);
  assert.deepEqual(skip.record?.items.map((i) => [i.where, i.action]), [['qa.jsonl:1', 'skipped'], ['qa.jsonl:4', 'skipped']]);
  assert.ok(skip.record!.items.every((i) => i.tokens > ctx));
  // truncate cuts only answers: an item whose other variants are too long is skipped.
  assert.deepEqual(fitQaItems(tokenizer, template, withVariants, 'truncate', ctx).items.map((i) => i.source?.line), [7]);
  assert.throws(() => fitQaItems(tokenizer, template, withVariants, 'error', ctx), /^LetheError: qa\.jsonl:1: \d+ tokens .* exceed the context length 40/);
});
