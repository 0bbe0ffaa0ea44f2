import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../../../src/engine/errors.ts';
import { tokenizerFromJson } from '../../../src/models/tokenizer/tokenizer.ts';
import { gpt2, LLAMA2_STYLE_DIR, llama2Legacy, qwen2 } from './families.ts';

const spans = (text: string, offsets: [number, number][]) => offsets.map(([s, e]) => text.slice(s, e));

test('SentencePiece: BOS covers nothing, the prepended ▁ is empty, "▁Par" covers " Par", literal added tokens cover themselves', () => {
  const { tokenizer } = llama2Legacy();
  const text = '<s>[INST] Hi [/INST] Paris </s>';
  const { ids, offsets, specialPrefix } = tokenizer.encodeWithOffsets(text, { addSpecialTokens: false });
  assert.equal(specialPrefix, 0);
  assert.deepEqual(ids, tokenizer.encode(text, { addSpecialTokens: false }));
  const pieces = ids.map((id) => tokenizer.idToToken(id));
  assert.deepEqual(pieces.slice(0, 2), ['<s>', '\u2581']);
  assert.deepEqual(offsets.slice(0, 2), [[0, 3], [3, 3]]);
  assert.deepEqual(spans(text, offsets).slice(-4), [' Par', 'is', ' ', '</s>']);
  const bos = tokenizer.encodeWithOffsets('Hi');
  assert.equal(bos.specialPrefix, 1);
  assert.deepEqual(bos.offsets[0], [0, 0]);
});

test('byte-level: tokens holding part of a character cover the whole character; spans tile the text', () => {
  const { tokenizer } = gpt2();
  const text = 'Émile wrote 😀 in 中文, twice  over.\n';
  const { ids, offsets } = tokenizer.encodeWithOffsets(text);
  assert.deepEqual(ids, tokenizer.encode(text));
  for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i][0] >= offsets[i - 1][0] && offsets[i][1] >= offsets[i - 1][1]);
  // Joined without repeats, the spans give back the text.
  let rebuilt = '';
  let end = 0;
  for (const [s, e] of offsets) {
    if (e > end) rebuilt += text.slice(Math.max(s, end), e);
    end = Math.max(end, e);
  }
  assert.equal(rebuilt, text);
  const emoji = offsets.filter(([s, e]) => text.slice(s, e) === '😀');
  assert.ok(emoji.length >= 1);
});

test('a normaliser that rewrites the text is a LetheError, not a wrong split', () => {
  const json = JSON.parse(readFileSync(join(LLAMA2_STYLE_DIR, 'tokenizer.json'), 'utf8')) as { normalizer: { normalizers: unknown[] } };
  json.normalizer.normalizers.unshift({ type: 'Lowercase' });
  const lower = tokenizerFromJson(json, {}, 'lowercase.json');
  assert.throws(() => lower.encodeWithOffsets('Paris'), (e: unknown) => e instanceof LetheError && /^lowercase\.json: cannot map token \d+ .* back onto the text/.test(e.message));
});

test('NFC (Qwen2): text that is not NFC maps back (a cluster NFC changes as a whole)', () => {
  const { tokenizer } = qwen2();
  // e + combining acute: the tokens hold "é" (NFC); the span is the two code units of the text.
  const text = 'cafe\u0301 au lait';
  const { ids, offsets } = tokenizer.encodeWithOffsets(text);
  assert.deepEqual(ids, tokenizer.encode('caf\u00e9 au lait'));
  const last = offsets.filter(([s]) => s < 5).at(-1)!;
  assert.equal(last[1], 5);
  assert.equal(offsets.at(-1)![1], text.length);
  assert.deepEqual(tokenizer.encodeWithOffsets('caf\u00e9').offsets.length, tokenizer.encode('caf\u00e9').length);
});
