import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../../src/engine/errors.ts';
import { parseLlama2cTokenizer, type Llama2cTokenizer as Llama2cVocab } from '../../../src/models/formats/llama2c.ts';
import { Llama2cTokenizer } from '../../../src/models/tokenizer/llama2c-tokenizer.ts';
import { loadTokenizer } from '../../../src/models/tokenizer/load-tokenizer.ts';
import { llama2cTokenizerBin, LLAMA2C_NO_BYTES_FILE, runCEncode } from './families.ts';

const bin = () => parseLlama2cTokenizer(llama2cTokenizerBin(), 433, 'tokenizer.bin');
const noBytes = () => parseLlama2cTokenizer(readFileSync(LLAMA2C_NO_BYTES_FILE), 96, LLAMA2C_NO_BYTES_FILE);

/** Code-point spans (runCEncode's) in UTF-16 units of `text`. */
function utf16Spans(text: string, spans: [number, number][]): [number, number][] {
  const at = [0];
  for (const c of text) at.push(at[at.length - 1] + c.length);
  return spans.map(([s, e]) => [at[s], at[e]]);
}

/**
 * What the EncodingWithOffsets doc says, checked on the text itself (for a vocabulary with byte
 * pieces): BOS [0, 0]; a piece covers exactly its text (the first without the dummy-prefix space,
 * which is not in the text; the lone dummy prefix is [0, 0]); a <0xXX> piece covers the one whole
 * character holding its byte; spans follow each other with no gap.
 */
function checkOffsetsOnText(tokenizer: Llama2cTokenizer, text: string, bos: boolean): void {
  const { ids, offsets, specialPrefix } = tokenizer.encodeWithOffsets(text, { addSpecialTokens: bos });
  assert.deepEqual(ids, tokenizer.encode(text, { addSpecialTokens: bos }));
  assert.equal(offsets.length, ids.length);
  assert.equal(specialPrefix, bos ? 1 : 0);
  if (bos) assert.deepEqual(offsets[0], [0, 0]);
  let end = 0;
  for (let k = specialPrefix; k < ids.length; k++) {
    const [s, e] = offsets[k];
    const piece = tokenizer.idToToken(ids[k])!;
    const byte = /^<0x([0-9A-F]{2})>$/.exec(piece);
    if (byte) {
      const char = String.fromCodePoint(text.codePointAt(s)!);
      assert.equal(e - s, char.length, `${JSON.stringify(text)}: ${piece} covers one character`);
      assert.ok(new TextEncoder().encode(char).includes(parseInt(byte[1], 16)), `${JSON.stringify(text)}: ${piece} is a byte of ${char}`);
      assert.ok(s === end || (k > specialPrefix && s === offsets[k - 1][0] && e === offsets[k - 1][1]), 'byte pieces of one character share its span');
    } else {
      const covered: string = k === specialPrefix ? piece.slice(1) : piece; // the dummy prefix leads the first token
      if (k === specialPrefix) assert.equal(piece[0], ' ');
      assert.equal(s, end, `${JSON.stringify(text)}: no gap before token ${k}`);
      assert.equal(text.slice(s, e), covered, `${JSON.stringify(text)}: token ${k} (${JSON.stringify(piece)}) at [${s}, ${e})`);
    }
    end = e;
  }
  assert.equal(end, text.length);
}

test('Llama2cTokenizer encodes exactly as the run.c port does, decodes back, and its offsets cover the text as documented (byte pieces)', () => {
  const t = bin();
  const tokenizer = new Llama2cTokenizer(t, 'tokenizer.bin');
  assert.equal(tokenizer.bosId, 1);
  assert.equal(tokenizer.eosId, 2);
  assert.deepEqual(tokenizer.encode('What is the capital of France?'), runCEncode(t, 'What is the capital of France?', true).ids);
  const piece = fc.constantFrom('a', 'What', 'is', 'the', 'Paris', 'Par', ' ', '  ', '\n', '\t', '?', '.', "'", 'é', 'e\u0301', '中', '😀', '€', 'INST', '[', ']', '/');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 20 }).map((p) => p.join('')), (text) => {
      for (const bos of [true, false]) {
        const reference = runCEncode(t, text, bos);
        assert.deepEqual(tokenizer.encode(text, { addSpecialTokens: bos }), reference.ids);
        assert.deepEqual(tokenizer.encodeWithOffsets(text, { addSpecialTokens: bos }).offsets, utf16Spans(text, reference.spans));
        checkOffsetsOnText(tokenizer, text, bos);
      }
      // run.c's decode drops the dummy prefix after BOS; a continuation decoded alone keeps it.
      assert.equal(tokenizer.decode(tokenizer.encode(text), { skipSpecialTokens: true }), text);
      if (text !== '') assert.equal(tokenizer.decode(tokenizer.encode(text, { addSpecialTokens: false })), ' ' + text);
    }),
    { numRuns: 300 },
  );
});

test('encodeWithOffsets by hand: BOS [0, 0], the dummy prefix inside the first token, a 4-byte character\'s byte pieces each cover both UTF-16 units', () => {
  const tokenizer = new Llama2cTokenizer(bin(), 'tokenizer.bin');
  const e = tokenizer.encodeWithOffsets('Paris 😀');
  assert.deepEqual(e.ids.map((id) => tokenizer.idToToken(id)), ['\n<s>\n', ' Paris', ' ', '<0xF0>', '<0x9F>', '<0x98>', '<0x80>']);
  assert.deepEqual(e.offsets, [[0, 0], [0, 5], [5, 6], [6, 8], [6, 8], [6, 8], [6, 8]]);
  assert.equal(e.specialPrefix, 1);
  // A text starting with a character that does not merge with the dummy prefix: the lone prefix is [0, 0].
  const nl = tokenizer.encodeWithOffsets('\nParis', { addSpecialTokens: false });
  assert.deepEqual(nl.ids.map((id) => tokenizer.idToToken(id)), [' ', '<0x0A>', 'Paris']);
  assert.deepEqual(nl.offsets, [[0, 0], [0, 1], [1, 6]]);
  assert.deepEqual(tokenizer.encodeWithOffsets(''), { ids: [1], offsets: [[0, 0]], specialPrefix: 1 });
  assert.deepEqual(tokenizer.encodeWithOffsets('', { addSpecialTokens: false }), { ids: [], offsets: [], specialPrefix: 0 });
});

test('without byte pieces (the model fixtures\' 96 tokens): run.c\'s byte + 3 ids for unknown ASCII, <unk> where byte + 3 is past the vocabulary; offsets as run.c\'s spans', () => {
  const t: Llama2cVocab = noBytes();
  const tokenizer = new Llama2cTokenizer(t, LLAMA2C_NO_BYTES_FILE);
  assert.equal(tokenizer.vocabSize, 96);
  const piece = fc.constantFrom('the', 'he', 'in', 'a', 'b', 'Z', ' ', '  ', 'at', 'nt', '.', ',', '?', "'", '0', '42', 'Tea', 'or', '\n', '\t', '"', 'é', '€', '😀');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 20 }).map((p) => p.join('')), (text) => {
      for (const bos of [true, false]) {
        const reference = runCEncode(t, text, bos);
        const e = tokenizer.encodeWithOffsets(text, { addSpecialTokens: bos });
        assert.deepEqual(tokenizer.encode(text, { addSpecialTokens: bos }), reference.ids);
        assert.deepEqual(e.ids, reference.ids);
        assert.deepEqual(e.offsets, utf16Spans(text, reference.spans));
      }
    }),
    { numRuns: 300 },
  );
  const a = tokenizer.encodeWithOffsets('a€😀', { addSpecialTokens: false });
  assert.deepEqual(a.ids.map((id) => tokenizer.idToToken(id)), [' a', '<unk>', '<unk>']);
  assert.deepEqual(a.offsets, [[0, 1], [1, 2], [2, 4]]);
  // "\t" is byte 9: run.c's id 12 is the piece "i", which then merges with "n" as "in" would.
  const tab = tokenizer.encodeWithOffsets('\tn', { addSpecialTokens: false });
  assert.deepEqual(tab.ids.map((id) => tokenizer.idToToken(id)), [' ', 'in']);
  assert.deepEqual(tab.offsets, [[0, 0], [0, 2]]);
});

test('a vocabulary without the " " piece (no dummy prefix) is a LetheError naming the file', () => {
  const t = noBytes();
  const broken = { ...t, bytes: t.bytes.map((b, id) => (id === 3 ? new TextEncoder().encode('~') : b)) };
  const tokenizer = new Llama2cTokenizer(broken, 'tok.bin');
  assert.deepEqual(tokenizer.encode(''), [1]);
  assert.throws(() => tokenizer.encode('a'), (e: unknown) => e instanceof LetheError && /^tok\.bin: the vocabulary has no " " token/.test(e.message));
  assert.throws(() => tokenizer.encodeWithOffsets('a'), (e: unknown) => e instanceof LetheError && /^tok\.bin: /.test(e.message));
});

test('loadTokenizer reads tokenizer.bin from a llama2.c folder (or beside a .bin model file) as a Llama2cTokenizer; save copies it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-llama2c-tok-'));
  try {
    writeFileSync(join(dir, 'tokenizer.bin'), llama2cTokenizerBin());
    writeFileSync(join(dir, 'model.bin'), new Uint8Array(28));
    const t = bin();
    for (const path of [dir, join(dir, 'model.bin')]) {
      const tokenizer = loadTokenizer(path);
      assert.ok(tokenizer instanceof Llama2cTokenizer);
      assert.equal(tokenizer.vocabSize, 433);
      assert.deepEqual(tokenizer.encode('Who is the capital of Paris?\n'), runCEncode(t, 'Who is the capital of Paris?\n', true).ids);
    }
    // Saved, the folder holds the same tokenizer.bin, which loads back the same.
    const saved = join(dir, 'saved');
    loadTokenizer(dir).save(saved);
    assert.deepEqual(readFileSync(join(saved, 'tokenizer.bin')), readFileSync(join(dir, 'tokenizer.bin')));
    assert.deepEqual(loadTokenizer(saved).encode('What is Paris?'), runCEncode(t, 'What is Paris?', true).ids);
    // Truncated: a LetheError naming the file.
    writeFileSync(join(dir, 'tokenizer.bin'), llama2cTokenizerBin().subarray(0, 3001));
    assert.throws(() => loadTokenizer(dir), (e: unknown) => e instanceof LetheError && e.message.startsWith(join(dir, 'tokenizer.bin')));
    rmSync(join(dir, 'tokenizer.bin'));
    assert.throws(() => loadTokenizer(dir), (e: unknown) => e instanceof LetheError && /no tokenizer\.json \(or llama2\.c tokenizer\.bin\)/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
