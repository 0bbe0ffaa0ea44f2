import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../../src/engine/errors.ts';
import { loadTokenizer } from '../../../src/models/tokenizer/load-tokenizer.ts';
import { tofuTokenizer } from './trained.ts';

// ChatML, as Qwen2 and SmolLM2 write it.
const chatml =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A tokenizer directory made from the trained TOFU tokenizer, with `edit` applied to its files. */
function fixtureDir(edit: (json: Record<string, unknown>, config: Record<string, unknown>) => void = () => {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-tok-'));
  tofuTokenizer().save(dir);
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  edit(json, config);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

function inDir(dir: string, body: () => void): void {
  try {
    body();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const letheError = (pattern: RegExp) => (e: unknown) => e instanceof LetheError && pattern.test(e.message);

test('a malformed tokenizer.json is a LetheError naming the file', () => {
  const dir = fixtureDir();
  inDir(dir, () => {
    const path = join(dir, 'tokenizer.json');
    writeFileSync(path, '{"version": "1.0", "model": {');
    assert.throws(() => loadTokenizer(dir), letheError(new RegExp(`${path.replace(/[.]/g, '\\.')}: not valid JSON`)));
    writeFileSync(path, '{"version": "1.0", "added_tokens": []}');
    assert.throws(() => loadTokenizer(dir), letheError(/tokenizer\.json: missing the "model" object/));
    writeFileSync(path, JSON.stringify({ version: '1.0', added_tokens: [], model: { type: 'NoSuchModel' } }));
    assert.throws(() => loadTokenizer(dir), letheError(/tokenizer\.json: cannot build a tokenizer from it/));
  });
});

test('a directory without tokenizer.json, and a bad config, are LetheErrors naming the file', () => {
  const empty = mkdtempSync(join(tmpdir(), 'lethe-tok-'));
  inDir(empty, () => assert.throws(() => loadTokenizer(empty), letheError(/no tokenizer\.json/)));
  const dir = fixtureDir((_json, config) => {
    config.eos_token = '<not-a-token>';
  });
  inDir(dir, () => assert.throws(() => loadTokenizer(dir), letheError(/tokenizer_config\.json: eos_token "<not-a-token>" is not in the vocabulary/)));
  const broken = fixtureDir();
  inDir(broken, () => {
    writeFileSync(join(broken, 'tokenizer_config.json'), '[1, 2');
    assert.throws(() => loadTokenizer(broken), letheError(/tokenizer_config\.json: not valid JSON/));
  });
});

test('special tokens come from tokenizer_config.json, as strings or AddedToken records, or from special_tokens_map.json', () => {
  const dir = fixtureDir((json, config) => {
    (json.added_tokens as unknown[]).push(
      { id: 2000, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 2001, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    );
    config.bos_token = { __type: 'AddedToken', content: '<s>' };
    config.eos_token = '</s>';
    delete config.pad_token;
  });
  inDir(dir, () => {
    let tokenizer = loadTokenizer(dir);
    assert.deepEqual([tokenizer.bosId, tokenizer.eosId, tokenizer.padId, tokenizer.vocabSize], [2000, 2001, undefined, 2002]);
    writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify({ pad_token: '<|endoftext|>', eos_token: '<s>' }));
    tokenizer = loadTokenizer(dir);
    // The map fills the missing pad token; the config's eos wins over the map's.
    assert.deepEqual([tokenizer.eosId, tokenizer.padId], [2001, 0]);
  });
});

test('a post-processor that adds BOS adds it only with addSpecialTokens', () => {
  const dir = fixtureDir((json, config) => {
    json.post_processor = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [0], tokens: ['<|endoftext|>'] } },
    };
    config.add_bos_token = true;
  });
  inDir(dir, () => {
    const tokenizer = loadTokenizer(dir);
    const plain = tokenizer.encode('The author', { addSpecialTokens: false });
    assert.deepEqual(tokenizer.encode('The author'), [0, ...plain]);
    assert.equal(tokenizer.decode([0, ...plain], { skipSpecialTokens: true }), 'The author');
    assert.equal(tokenizer.decode([0, ...plain]), '<|endoftext|>The author');
    assert.equal(tokenizer.decode([]), '');
  });
});

test('applyChatTemplate renders the config template; chat_template.jinja takes precedence', () => {
  const dir = fixtureDir((_json, config) => {
    config.chat_template = chatml;
  });
  inDir(dir, () => {
    let tokenizer = loadTokenizer(dir);
    const messages = [{ role: 'user', content: 'Who wrote it?' }];
    assert.equal(tokenizer.applyChatTemplate(messages), '<|im_start|>user\nWho wrote it?<|im_end|>\n');
    assert.equal(
      tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }),
      '<|im_start|>user\nWho wrote it?<|im_end|>\n<|im_start|>assistant\n',
    );
    writeFileSync(join(dir, 'chat_template.jinja'), '{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}');
    tokenizer = loadTokenizer(dir);
    assert.equal(tokenizer.applyChatTemplate(messages), '<|endoftext|>[user] Who wrote it?');
  });
});

test('applyChatTemplate without a template, or with a broken one, is a LetheError', () => {
  assert.throws(() => tofuTokenizer().applyChatTemplate([{ role: 'user', content: 'x' }]), letheError(/has no chat_template/));
  const dir = fixtureDir((_json, config) => {
    config.chat_template = "{% if messages[0]['role'] != 'system' %}{{ raise_exception('system message first') }}{% endif %}";
  });
  inDir(dir, () => {
    assert.throws(() => loadTokenizer(dir).applyChatTemplate([{ role: 'user', content: 'x' }]), letheError(/system message first/));
  });
});

test('save then load keeps the files and the ids', () => {
  const dir = fixtureDir((_json, config) => {
    config.chat_template = chatml;
  });
  inDir(dir, () => {
    const tokenizer = loadTokenizer(dir);
    const copy = join(dir, 'copy');
    tokenizer.save(copy);
    const again = loadTokenizer(copy);
    assert.equal(again.chatTemplate, chatml);
    assert.deepEqual(again.encode('Basil Mahfouz Al-Kuwaiti 😀'), tokenizer.encode('Basil Mahfouz Al-Kuwaiti 😀'));
    assert.deepEqual(
      JSON.parse(readFileSync(join(copy, 'tokenizer.json'), 'utf8')),
      JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
    );
  });
});
