// Chat templates as the families ship them (the Jinja of their tokenizer_config.json, written
// here): Llama 3 Instruct, Qwen's ChatML with its default system turn, Phi-3, Zephyr (newlines
// between the tags: transformers' trim_blocks/lstrip_blocks) and Gemma, whose template rejects a
// system role. Each renders the prompt and the answer's turn as the family does, and the
// token-boundary split holds: prompt ids + answer ids == the whole text's ids, split where the
// Rust tokenizer's offsets put the end of the prompt. A system prompt on Gemma is folded into the
// first user turn ("system\n\nuser", as Gemma 3's own template does).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { encodePair } from '../../src/data/batches.ts';
import { chatTemplate } from '../../src/data/templates.ts';
import { LetheError } from '../../src/engine/errors.ts';
import { renderChatTemplate } from '../../src/models/tokenizer/chat-template.ts';
import { tokenizerFromJson, type Tokenizer } from '../../src/models/tokenizer/tokenizer.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';

const LLAMA3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}" +
  "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
const QWEN =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
  "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const PHI3 =
  "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}" +
  "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}";
const ZEPHYR =
  "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\\n' + message['content'] + eos_token }}\n" +
  "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";
const GEMMA =
  "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}" +
  "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}" +
  "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";

interface ChatFamily {
  name: string;
  template: string;
  specials: string[];
  config: Record<string, string>;
  /** The rendering of ("Who wrote it?", "Jane Doe.") as prompt and target. */
  expected: { prompt: string; target: string };
}

const FAMILIES: ChatFamily[] = [
  {
    name: 'Llama 3 Instruct', template: LLAMA3, specials: ['<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
    config: { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' },
    expected: { prompt: '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWho wrote it?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n', target: 'Jane Doe.<|eot_id|>' },
  },
  {
    name: 'Qwen ChatML', template: QWEN, specials: ['<|im_start|>', '<|im_end|>'], config: { eos_token: '<|im_end|>' },
    expected: { prompt: '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWho wrote it?<|im_end|>\n<|im_start|>assistant\n', target: 'Jane Doe.<|im_end|>\n' },
  },
  {
    name: 'Phi-3', template: PHI3, specials: ['<|system|>', '<|user|>', '<|assistant|>', '<|end|>'], config: { eos_token: '<|endoftext|>' },
    expected: { prompt: '<|user|>\nWho wrote it?<|end|>\n<|assistant|>\n', target: 'Jane Doe.<|end|>\n<|endoftext|>' },
  },
  {
    name: 'Zephyr', template: ZEPHYR, specials: ['</s>'], config: { eos_token: '</s>' },
    expected: { prompt: '<|user|>\nWho wrote it?</s>\n<|assistant|>\n', target: 'Jane Doe.</s>\n' },
  },
  {
    name: 'Gemma', template: GEMMA, specials: ['<bos>', '<start_of_turn>', '<end_of_turn>'], config: { bos_token: '<bos>', eos_token: '<end_of_turn>' },
    expected: { prompt: '<bos><start_of_turn>user\nWho wrote it?<end_of_turn>\n<start_of_turn>model\n', target: 'Jane Doe.<end_of_turn>\n' },
  },
];

type Json = Record<string, unknown>;

/** The TOFU byte-level BPE with the family's markers as special added tokens and its chat template. */
function familyTokenizer(f: ChatFamily): { tokenizer: Tokenizer; json: Json } {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-chat-families-'));
  let json: Json;
  let config: Json;
  try {
    tofuTokenizer().save(dir);
    json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Json;
    config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Json;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const vocab = (json.model as { vocab: Record<string, number> }).vocab;
  const added = json.added_tokens as { id: number; content: string }[];
  let next = Math.max(...Object.values(vocab), ...added.map((a) => a.id)) + 1;
  for (const content of f.specials) {
    if (added.some((a) => a.content === content)) continue;
    added.push({ id: next++, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true } as { id: number; content: string });
  }
  const tokenizer = tokenizerFromJson(structuredClone(json), { ...config, bos_token: null, ...f.config, chat_template: f.template }, `${f.name} tokenizer`);
  return { tokenizer, json };
}

const piece = fc.constantFrom('a', 'the', 'Who', 'Paris', '1956', ' ', '  ', '\n', '\t', '.', '?', "'s", 'é', '中', '😀', '<', '|', '>');
const text = fc.array(piece, { minLength: 1, maxLength: 10 }).map((parts) => parts.join('')).filter((t) => t.trim() !== '');

for (const f of FAMILIES) {
  test(`${f.name}: the chat template renders prompt and answer turn as the family does`, () => {
    const { tokenizer } = familyTokenizer(f);
    const pair = chatTemplate(tokenizer).pair('Who wrote it?', 'Jane Doe.');
    assert.deepEqual({ prompt: pair.prompt, target: pair.target }, f.expected);
    assert.equal(chatTemplate(tokenizer).prompt('Who wrote it?'), f.expected.prompt);
  });

  test(`${f.name}: prompt ids + answer ids == whole-text ids, split where the Rust tokenizer's offsets end the prompt`, async () => {
    const { tokenizer, json } = familyTokenizer(f);
    const rust = RustTokenizer.fromString(JSON.stringify(json, (key, value: unknown) => (key === 'trim_offsets' ? false : value)));
    const template = chatTemplate(tokenizer);
    await fc.assert(
      fc.asyncProperty(text, text, async (question, answer) => {
        const pair = template.pair(question, answer);
        const item = encodePair(tokenizer, pair, template);
        const whole = pair.prompt + pair.target;
        const reference = await rust.encode(whole, null, { addSpecialTokens: false });
        assert.deepEqual(item.ids, reference.getIds());
        const boundary = [...pair.prompt].length;
        const offsets = reference.getOffsets();
        let promptLength = 0;
        while (promptLength < offsets.length && offsets[promptLength][1] <= boundary && offsets[promptLength][0] < boundary) promptLength++;
        assert.equal(item.promptLength, promptLength);
        // The family's end-of-turn marker is a single special token inside the answer's part.
        const marker = tokenizer.tokenToId(f.specials.includes(f.config.eos_token) ? f.config.eos_token : f.specials[f.specials.length - 1])!;
        assert.ok(item.ids.slice(item.promptLength).includes(marker), 'the end of turn is scored with the answer');
      }),
      { numRuns: 40 },
    );
  });
}

test('Gemma: a system prompt is folded into the first user turn ("system\\n\\nuser"); other refusals stay errors', () => {
  const gemma = FAMILIES.find((f) => f.name === 'Gemma')!;
  const { tokenizer } = familyTokenizer(gemma);
  const template = chatTemplate(tokenizer, { systemPrompt: 'Answer briefly.' });
  assert.equal(template.prompt('Who wrote it?'), '<bos><start_of_turn>user\nAnswer briefly.\n\nWho wrote it?<end_of_turn>\n<start_of_turn>model\n');
  assert.equal(template.pair('Who wrote it?', 'Jane Doe.').target, 'Jane Doe.<end_of_turn>\n');
  // A template that accepts a system role renders it as its own turn (nothing folded).
  const phi3 = familyTokenizer(FAMILIES.find((f) => f.name === 'Phi-3')!).tokenizer;
  assert.equal(chatTemplate(phi3, { systemPrompt: 'Answer briefly.' }).prompt('Hi'), '<|system|>\nAnswer briefly.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n');
  // Roles that do not alternate: Gemma's own error, not a fold.
  const vars = { bos_token: '<bos>', add_generation_prompt: false };
  assert.throws(
    () => renderChatTemplate(GEMMA, [{ role: 'system', content: 's' }, { role: 'assistant', content: 'a' }], vars, 'gemma/tokenizer_config.json'),
    (err: unknown) => err instanceof LetheError && /^gemma\/tokenizer_config\.json: the chat_template failed on these messages: System role not supported$/.test(err.message),
  );
  assert.throws(
    () => renderChatTemplate(GEMMA, [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }, { role: 'user', content: 'u2' }], vars, 'gemma'),
    /System role not supported/,
  );
  // A template that fails on everything reports its own error.
  assert.throws(() => renderChatTemplate("{{ raise_exception('nope') }}", [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }], {}, 'x'), /x: the chat_template failed on these messages: nope$/);
});
