// Prompt texts exactly as lm-evaluation-harness builds them for its mmlu / wmdp tasks
// (description, doc_to_text, " " target delimiter, "\n\n" between shots, first_n shots from the
// dev split) and for mmlu_continuation, plain and under a chat template.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { McItem } from '../../../src/data/multiple-choice.ts';
import { LetheError } from '../../../src/engine/errors.ts';
import { buildMcRequests } from '../../../src/eval/multiple-choice/prompts.ts';
import { tofuChatTokenizer } from '../../models/tokenizer/trained.ts';

const item = (question: string, choices: string[], answer: number, subject?: string): McItem => ({
  question, choices, answer, where: 'test', ...(subject === undefined ? {} : { subject }),
});
const dev = [
  item('What is 1+1?', ['1', '2', '3', '4'], 1, 'arithmetic'),
  item('  Which is the capital of Kelm?', ['Arno', 'Bex', 'Cato', 'Dun'], 3, 'geography'),
  item(' Which is even? \n', ['3', '5', '8', '9'], 2, 'arithmetic'),
  item('What is 3+3?', ['6', '7', '8', '9'], 0, 'arithmetic'),
];
const question = item('What is 2+3?', ['4', '5', '6', '7'], 1, 'arithmetic');

test('zero-shot MMLU/WMDP layout: description, question, lettered options, "Answer:"; options " A".." D"', () => {
  const [r] = buildMcRequests([question]);
  assert.equal(r.context, 'The following are multiple choice questions (with answers) about arithmetic.\n\nWhat is 2+3?\nA. 4\nB. 5\nC. 6\nD. 7\nAnswer:');
  assert.deepEqual(r.continuations, [' A', ' B', ' C', ' D']);
  assert.deepEqual(r.choices, ['A', 'B', 'C', 'D']);
  const [mmlu] = buildMcRequests([item('Q?', ['x', 'y'], 0, 'high_school_biology')]);
  assert.ok(mmlu.context.startsWith('The following are multiple choice questions (with answers) about high school biology.\n\nQ?'));
  // No subject, no description (WMDP's files carry none; its task names "biology" etc. itself).
  const [bare] = buildMcRequests([item(' Q? ', ['x', 'y'], 0)]);
  assert.equal(bare.context, 'Q?\nA. x\nB. y\nAnswer:');
  const [wmdp] = buildMcRequests([item('Q?', ['x', 'y'], 0)], { description: 'The following are multiple choice questions (with answers) about biology.\n\n' });
  assert.equal(wmdp.context, 'The following are multiple choice questions (with answers) about biology.\n\nQ?\nA. x\nB. y\nAnswer:');
});

test('k-shot: the first k dev items of the same subject, each solved with " LETTER" and followed by a blank line', () => {
  const [r] = buildMcRequests([question], { numFewshot: 2, fewshotItems: dev });
  const expected =
    'The following are multiple choice questions (with answers) about arithmetic.\n\n' +
    'What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n' +
    'Which is even?\nA. 3\nB. 5\nC. 8\nD. 9\nAnswer: C\n\n' +
    'What is 2+3?\nA. 4\nB. 5\nC. 6\nD. 7\nAnswer:';
  assert.equal(r.context, expected);
  assert.deepEqual(r.continuations, [' A', ' B', ' C', ' D']);
  // An item is never its own shot: evaluating dev[0] with dev as the shot pool skips it.
  const [own] = buildMcRequests([dev[0]], { numFewshot: 1, fewshotItems: dev });
  assert.ok(own.context.includes('Which is even?\nA. 3') && !own.context.includes('What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B'));
  assert.throws(() => buildMcRequests([question], { numFewshot: 4, fewshotItems: dev }), (e: unknown) => e instanceof LetheError && /only 3 with subject "arithmetic"/.test(e.message));
  assert.throws(() => buildMcRequests([question], { numFewshot: 1 }), LetheError);
});

test('continuation style (mmlu_continuation): "Question: …\\nAnswer:" and the option texts as continuations', () => {
  const [r] = buildMcRequests([question], { style: 'continuation', numFewshot: 1, fewshotItems: dev });
  assert.equal(r.context, 'The following are questions (with answers) about arithmetic.\n\nQuestion: What is 1+1?\nAnswer: 2\n\nQuestion: What is 2+3?\nAnswer:');
  assert.deepEqual(r.continuations, [' 4', ' 5', ' 6', ' 7']);
  assert.deepEqual(r.choices, ['4', '5', '6', '7']);
});

test('a system instruction goes before the description with a blank line between', () => {
  const [r] = buildMcRequests([question], { systemInstruction: 'Be brief.' });
  assert.ok(r.context.startsWith('Be brief.\n\nThe following are multiple choice questions (with answers) about arithmetic.\n\nWhat is 2+3?'));
});

test('chat template: description as the system turn, shots and question in one user turn, no delimiter; the trailing newline moves to the options', () => {
  const tokenizer = tofuChatTokenizer();
  const [r] = buildMcRequests([question], { numFewshot: 1, fewshotItems: dev, chat: { tokenizer } });
  assert.equal(
    r.context,
    '<|im_start|>system\nThe following are multiple choice questions (with answers) about arithmetic.\n\n<|im_end|>\n' +
      '<|im_start|>user\nWhat is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\nWhat is 2+3?\nA. 4\nB. 5\nC. 6\nD. 7\nAnswer:<|im_end|>\n' +
      '<|im_start|>assistant',
  );
  assert.deepEqual(r.continuations, ['\nA', '\nB', '\nC', '\nD']);
  assert.deepEqual(r.choices, ['A', 'B', 'C', 'D']);
  const [multi] = buildMcRequests([question], { numFewshot: 1, fewshotItems: dev, chat: { tokenizer, fewshotAsMultiturn: true } });
  assert.ok(
    multi.context.includes(
      '<|im_start|>user\nWhat is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:<|im_end|>\n<|im_start|>assistant\nB<|im_end|>\n<|im_start|>user\nWhat is 2+3?',
    ),
  );
});
