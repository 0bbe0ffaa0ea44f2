import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { LetheError } from '../../../src/engine/errors.ts';
import { loadTokenizer } from '../../../src/models/tokenizer/load-tokenizer.ts';
import { trainTokenizer } from '../../../src/models/tokenizer/train-tokenizer.ts';
import { tofuTexts, tofuTokenizer } from './trained.ts';

const unicode = [
  'Héllo wörld — naïve café, Ærøskøbing',
  '東京の作家は「本」を書いた。',
  'emoji 😀👩‍👩‍👧 and math ∑ x² ≤ ∞',
  'tabs\tand  double  spaces\nnew lines\r\n and trailing space ',
  ' leading space, "quotes", it\'s, (parens) . , ! ?',
];

function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-test-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('decode(encode(text)) is the text for every TOFU question and answer and for unicode text', () => {
  const tokenizer = tofuTokenizer();
  for (const text of [...tofuTexts(), ...unicode]) {
    assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
  }
});

test('the trained tokenizer is a real subword tokenizer: TOFU text takes far fewer tokens than bytes', () => {
  const tokenizer = tofuTokenizer();
  const text = tofuTexts().slice(0, 200).join(' ');
  const tokens = tokenizer.encode(text).length;
  assert.ok(tokens < Buffer.byteLength(text) / 3, `${tokens} tokens for ${Buffer.byteLength(text)} bytes`);
  // Frequent words are single tokens.
  assert.equal(tokenizer.encode(' author').length, 1);
});

test('vocabSize is respected exactly, special tokens and the 256 bytes included', () => {
  const texts = tofuTexts();
  for (const vocabSize of [257, 300, 1000]) {
    const tokenizer = trainTokenizer(texts, { vocabSize });
    assert.equal(tokenizer.vocabSize, vocabSize);
    assert.equal(tokenizer.idToToken(vocabSize - 1) !== undefined, true);
    assert.equal(tokenizer.idToToken(vocabSize), undefined);
  }
});

test('a text with few pairs gives fewer ids than asked, never more', () => {
  const tokenizer = trainTokenizer(['ab ab ab'], { vocabSize: 1000 });
  assert.ok(tokenizer.vocabSize < 1000 && tokenizer.vocabSize > 257, String(tokenizer.vocabSize));
  assert.equal(tokenizer.decode(tokenizer.encode('zebra 😀')), 'zebra 😀');
});

test('the same training text gives the same tokenizer.json and the same ids', () => {
  const texts = tofuTexts().slice(0, 1000);
  const a = trainTokenizer(texts, { vocabSize: 600 });
  const b = trainTokenizer(texts, { vocabSize: 600 });
  withTempDir((dir) => {
    a.save(join(dir, 'a'));
    b.save(join(dir, 'b'));
    assert.equal(readFileSync(join(dir, 'a', 'tokenizer.json'), 'utf8'), readFileSync(join(dir, 'b', 'tokenizer.json'), 'utf8'));
  });
  for (const text of texts.slice(0, 50)) assert.deepEqual(a.encode(text), b.encode(text));
});

test('special tokens take ids 0.. and bos/eos/pad default to the first one', () => {
  const tokenizer = tofuTokenizer();
  assert.equal(tokenizer.tokenToId('<|endoftext|>'), 0);
  assert.deepEqual([tokenizer.bosId, tokenizer.eosId, tokenizer.padId], [0, 0, 0]);
  // Encoding adds nothing (GPT-2 style); the special token in text is one id.
  const ids = tokenizer.encode('Hi<|endoftext|>', { addSpecialTokens: true });
  assert.equal(ids[ids.length - 1], 0);
  assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), 'Hi');

  const custom = trainTokenizer(tofuTexts().slice(0, 200), {
    vocabSize: 400, specialTokens: ['<pad>', '<s>', '</s>'], bosToken: '<s>', eosToken: '</s>', padToken: '<pad>',
  });
  assert.deepEqual([custom.padId, custom.bosId, custom.eosId], [0, 1, 2]);
});

test('the saved tokenizer.json loads through loadTokenizer and through the Rust library with the same ids', async () => {
  const tokenizer = tofuTokenizer();
  const dir = mkdtempSync(join(tmpdir(), 'lethe-test-'));
  try {
    tokenizer.save(dir);
    const loaded = loadTokenizer(dir);
    const rust = RustTokenizer.fromFile(join(dir, 'tokenizer.json'));
    assert.equal(loaded.vocabSize, tokenizer.vocabSize);
    assert.equal(loaded.eosId, tokenizer.eosId);
    for (const text of [...tofuTexts().slice(0, 100), ...unicode]) {
      const ids = tokenizer.encode(text);
      assert.deepEqual(loaded.encode(text), ids);
      assert.deepEqual((await rust.encode(text)).getIds(), ids, text);
    }
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.eos_token, '<|endoftext|>');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad training options are LetheErrors that say what is wrong', () => {
  assert.throws(() => trainTokenizer([], { vocabSize: 500 }), (e: unknown) => e instanceof LetheError && /no training texts/.test(e.message));
  assert.throws(() => trainTokenizer(['a b'], { vocabSize: 100 }), (e: unknown) => e instanceof LetheError && /from 257/.test(e.message));
  assert.throws(() => trainTokenizer(['a b'], { vocabSize: 50000 }), (e: unknown) => e instanceof LetheError && /30000/.test(e.message));
  assert.throws(
    () => trainTokenizer(['a b'], { vocabSize: 300, eosToken: '</s>' }),
    (e: unknown) => e instanceof LetheError && /eosToken "<\/s>"/.test(e.message),
  );
  assert.throws(
    () => trainTokenizer(['a b'], { vocabSize: 300, specialTokens: ['<s>', '<s>'] }),
    (e: unknown) => e instanceof LetheError && /distinct/.test(e.message),
  );
});
