import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LetheError } from '../../src/engine/errors.ts';
import { chatTemplate, plainTemplate, templatePairs } from '../../src/data/templates.ts';
import { parseQaJsonl } from '../../src/data/qa-dataset.ts';
import { tofuChatTokenizer } from '../models/tokenizer/trained.ts';

test('the plain template is exactly "Question: {q}\\nAnswer: " then the answer', () => {
  const template = plainTemplate();
  assert.deepEqual(template.pair('Who is it?', 'Basil.'), { prompt: 'Question: Who is it?\nAnswer: ', target: 'Basil.' });
  assert.equal(template.prompt('Who is it?'), 'Question: Who is it?\nAnswer: ');
  assert.equal(template.appendEos, true);
  assert.equal(template.promptSpecialTokens, true);
});

test('the chat template puts the user turn and the assistant header in the prompt, the answer and end of turn in the target', () => {
  const template = chatTemplate(tofuChatTokenizer());
  assert.deepEqual(template.pair('Who is it?', 'Basil.'), {
    prompt: '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWho is it?<|im_end|>\n<|im_start|>assistant\n',
    target: 'Basil.<|im_end|>\n',
  });
  assert.equal(template.appendEos, false);
  assert.equal(template.promptSpecialTokens, false);
  const withSystem = chatTemplate(tofuChatTokenizer(), { systemPrompt: 'Never name authors.' });
  assert.equal(
    withSystem.prompt('Who?'),
    '<|im_start|>system\nNever name authors.<|im_end|>\n<|im_start|>user\nWho?<|im_end|>\n<|im_start|>assistant\n',
  );
});

test('a chat template whose prompt is not a prefix of the conversation is a LetheError', () => {
  // Renders the last message only: the prompt is not the start of the full rendering.
  const template = chatTemplate(tofuChatTokenizer('{{ messages[-1].content }}{% if add_generation_prompt %}>{% endif %}'));
  assert.throws(() => template.pair('Q', 'A'), (e: unknown) => e instanceof LetheError && /cannot be separated/.test(e.message));
});

test('templatePairs maps items, with a chosen answer field', () => {
  const items = [{ question: 'Q?', answer: 'A.', paraphrasedAnswer: 'P.' }];
  assert.deepEqual(templatePairs(plainTemplate(), items), [{ prompt: 'Question: Q?\nAnswer: ', target: 'A.' }]);
  assert.deepEqual(templatePairs(plainTemplate(), items, (i) => i.paraphrasedAnswer), [{ prompt: 'Question: Q?\nAnswer: ', target: 'P.' }]);
});

test('a chat template that fails on an item names the item\'s file and line', () => {
  const tokenizer = tofuChatTokenizer("{% if messages[-1]['content'] == 'boom' %}{{ raise_exception('no boom') }}{% endif %}{% for m in messages %}{{ m['content'] }}{% endfor %}");
  const items = parseQaJsonl('{"question": "fine", "answer": "a"}\n{"question": "boom", "answer": "b"}', 'q.jsonl');
  assert.throws(() => templatePairs(chatTemplate(tokenizer), items), (e: unknown) => e instanceof LetheError && /^q\.jsonl:2: .*no boom/.test(e.message));
});
