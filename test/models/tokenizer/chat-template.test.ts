// Chat templates are untrusted input: rendering must equal the library's own and be bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { LetheError } from '../../../src/engine/errors.ts';
import { renderChatTemplate, type ChatMessage } from '../../../src/models/tokenizer/chat-template.ts';
import { LLAMA2_STYLE_DIR } from './families.ts';
import { chatml } from './trained.ts';

const letheError = (pattern: RegExp) => (e: unknown) => e instanceof LetheError && pattern.test(e.message);
const messages: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: '  What is the capital of France? ' },
  { role: 'assistant', content: 'Paris' },
];
const llama2Chat = (JSON.parse(readFileSync(join(LLAMA2_STYLE_DIR, 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;

test('rendering equals @huggingface/jinja\'s Template.render for real templates', () => {
  const variables = { bos_token: '<s>', eos_token: '</s>', add_generation_prompt: false };
  for (const template of [llama2Chat, chatml, "{% for m in messages %}{{ loop.index }}:{{ m['content'] | trim }}{% if not loop.last %}|{% endif %}{% endfor %}{{ range(3) | join(',') }}{{ range(1, 7, 2) | join(',') }}{{ range(5, 0, -2) | join(',') }}"]) {
    for (const add of [false, true]) {
      const expected = new Template(template).render({ ...variables, add_generation_prompt: add, messages });
      assert.equal(renderChatTemplate(template, messages, { ...variables, add_generation_prompt: add }, 't'), expected);
    }
  }
  assert.equal(renderChatTemplate(llama2Chat, messages.slice(1), { bos_token: '<s>', eos_token: '</s>' }, 't'), '<s>[INST] What is the capital of France? [/INST] Paris </s>');
  assert.equal(renderChatTemplate("{{ strftime_now('%Y') }}", [], {}, 't'), String(new Date().getFullYear()));
});

test('a template that loops a billion times, nests loops, or builds huge strings is a LetheError, not a crash or a hang', () => {
  assert.throws(() => renderChatTemplate('{% for i in range(1000000000) %}x{% endfor %}', messages, {}, 'tok'), letheError(/^tok: the chat_template was stopped: range\(\) of 1000000000 numbers, more than 100000 \(maxSteps\)/));
  const nested = '{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}';
  assert.throws(() => renderChatTemplate(nested, messages, {}, 'tok'), letheError(/more than 100000 evaluation steps \(maxSteps\)/));
  // A 5-million-character string emitted a thousand times: stopped by the total made.
  const repeated = `{% set s = range(50000) | join('${'x'.repeat(100)}') %}{% for i in range(1000) %}{{ s }}{% endfor %}`;
  assert.throws(() => renderChatTemplate(repeated, messages, {}, 'tok'), letheError(/characters made in all \(16 × maxOutputChars\)/));
  // A string doubled 40 times: stopped when one string passes maxOutputChars.
  const doubling = "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}";
  assert.throws(() => renderChatTemplate(doubling, messages, {}, 'tok'), letheError(/a string of 16777216 characters, more than 8388608 \(maxOutputChars\)/));
  const recursive = '{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}';
  assert.throws(() => renderChatTemplate(recursive, messages, {}, 'tok'), letheError(/^tok: the chat_template/));
  // Limits are options.
  assert.throws(() => renderChatTemplate('{{ range(11) | length }}', messages, {}, 'tok', { maxSteps: 10 }), letheError(/range\(\) of 11 numbers, more than 10/));
  assert.throws(() => renderChatTemplate("{{ 'abcdef' }}", messages, {}, 'tok', { maxOutputChars: 5 }), letheError(/6 characters, more than 5/));
  assert.equal(renderChatTemplate("{{ 'abcde' }}", messages, {}, 'tok', { maxOutputChars: 5 }), 'abcde');
});

test('raise_exception and parse errors are LetheErrors naming the tokenizer', () => {
  assert.throws(() => renderChatTemplate("{{ raise_exception('roles must alternate') }}", messages, {}, 'tok'), letheError(/^tok: the chat_template failed on these messages: roles must alternate/));
  assert.throws(() => renderChatTemplate('{% for %}', messages, {}, 'tok'), letheError(/^tok: the chat_template does not parse/));
});
