// Shared by tokenizer and data tests: a byte-level BPE tokenizer trained on TOFU's full set
// (about a third of a second), made once per test process, and a chat variant of it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTofuSplit } from '../../../src/data/tofu.ts';
import { trainTokenizer } from '../../../src/models/tokenizer/train-tokenizer.ts';
import { tokenizerFromJson, type Tokenizer } from '../../../src/models/tokenizer/tokenizer.ts';

export function tofuTexts(): string[] {
  return loadTofuSplit('full').flatMap((item) => [item.question, item.answer]);
}

let cached: Tokenizer | undefined;
export function tofuTokenizer(): Tokenizer {
  cached ??= trainTokenizer(tofuTexts(), { vocabSize: 2000 });
  return cached;
}

/** ChatML, as Qwen2 and SmolLM2 write it, with a default system turn. */
export const chatml =
  "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are helpful.<|im_end|>\\n' }}{% endif %}" +
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The TOFU tokenizer plus ChatML's markers (ids 2000, 2001; eos = <|im_end|>) and `template`. */
export function tofuChatTokenizer(template = chatml): Tokenizer {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-chat-'));
  try {
    tofuTokenizer().save(dir);
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as { added_tokens: unknown[] };
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    const special = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
    json.added_tokens.push({ id: 2000, content: '<|im_start|>', ...special }, { id: 2001, content: '<|im_end|>', ...special });
    return tokenizerFromJson(json, { ...config, chat_template: template, eos_token: '<|im_end|>' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
