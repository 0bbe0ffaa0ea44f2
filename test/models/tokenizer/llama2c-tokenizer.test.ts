import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../../../src/engine/errors.ts';
import { parseLlama2cTokenizer, type Llama2cTokenizer } from '../../../src/models/formats/llama2c.ts';
import { tokenizerFromLlama2c } from '../../../src/models/tokenizer/llama2c-tokenizer.ts';
import { loadTokenizer } from '../../../src/models/tokenizer/load-tokenizer.ts';
import { llama2cTokenizerBin } from './families.ts';

/**
 * run.c's encode(), ported line by line: BOS, the dummy prefix " ", each UTF-8 character looked
 * up (else its bytes + 3), then merge the adjacent pair whose concatenation is the best-scoring
 * piece, leftmost first on ties, until none is a piece.
 */
function runCEncode(t: Llama2cTokenizer, text: string, bos: boolean): number[] {
  const key = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
  const lookup = new Map<string, number>();
  t.bytes.forEach((piece, id) => lookup.set(key(piece), id));
  const tokens: number[] = [];
  if (bos) tokens.push(1);
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > 0) tokens.push(lookup.get(' ')!);
  for (let i = 0; i < bytes.length; ) {
    let n = 1;
    while (i + n < bytes.length && (bytes[i + n] & 0xc0) === 0x80 && n < 4) n++;
    const char = bytes.subarray(i, i + n);
    const id = lookup.get(key(char));
    if (id !== undefined) tokens.push(id);
    else for (const b of char) tokens.push(b + 3);
    i += n;
  }
  for (;;) {
    let best = -1e10;
    let bestId = -1;
    let bestAt = -1;
    for (let i = 0; i + 1 < tokens.length; i++) {
      const id = lookup.get(key(t.bytes[tokens[i]]) + key(t.bytes[tokens[i + 1]]));
      if (id !== undefined && t.scores[id] > best) {
        best = t.scores[id];
        bestId = id;
        bestAt = i;
      }
    }
    if (bestAt < 0) break;
    tokens.splice(bestAt, 2, bestId);
  }
  return tokens;
}

const bin = () => parseLlama2cTokenizer(llama2cTokenizerBin(), 433, 'tokenizer.bin');

test('a converted llama2.c tokenizer encodes exactly as run.c does, over random text', () => {
  const t = bin();
  const tokenizer = tokenizerFromLlama2c(t, 'tokenizer.bin');
  assert.equal(tokenizer.bosId, 1);
  assert.equal(tokenizer.eosId, 2);
  assert.deepEqual(tokenizer.encode('What is the capital of France?'), runCEncode(t, 'What is the capital of France?', true));
  const piece = fc.constantFrom('a', 'What', 'is', 'the', 'Paris', 'Par', ' ', '  ', '\n', '?', '.', "'", 'é', '中', '😀', 'INST', '[', ']', '/');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 20 }).map((p) => p.join('')), (text) => {
      assert.deepEqual(tokenizer.encode(text), runCEncode(t, text, true));
      assert.deepEqual(tokenizer.encode(text, { addSpecialTokens: false }), runCEncode(t, text, false));
      assert.equal(tokenizer.decode(tokenizer.encode(text, { addSpecialTokens: false })), text);
    }),
    { numRuns: 300 },
  );
});

test('a llama2.c tokenizer with repeated pieces or too few tokens is a LetheError naming the file', () => {
  const t = bin();
  const repeated = { ...t, pieces: t.pieces.map((p, id) => (id === 300 ? t.pieces[301] : p)) };
  assert.throws(() => tokenizerFromLlama2c(repeated, 'tok.bin'), (e: unknown) => e instanceof LetheError && /^tok\.bin: token 301 .* repeats token 300/.test(e.message));
  const short = { ...t, pieces: t.pieces.slice(0, 3) };
  assert.throws(() => tokenizerFromLlama2c(short, 'tok.bin'), (e: unknown) => e instanceof LetheError && /^tok\.bin: 3 tokens/.test(e.message));
});

test('loadTokenizer reads tokenizer.bin from a llama2.c folder (or beside a .bin model file) when there is no tokenizer.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-llama2c-tok-'));
  try {
    writeFileSync(join(dir, 'tokenizer.bin'), llama2cTokenizerBin());
    writeFileSync(join(dir, 'model.bin'), new Uint8Array(28));
    const t = bin();
    for (const path of [dir, join(dir, 'model.bin')]) {
      const tokenizer = loadTokenizer(path);
      assert.equal(tokenizer.vocabSize, 433);
      assert.deepEqual(tokenizer.encode('Who is the capital of Paris?\n'), runCEncode(t, 'Who is the capital of Paris?\n', true));
    }
    // Saved, it is a Hugging Face tokenizer folder that loads back the same.
    const saved = join(dir, 'hf');
    loadTokenizer(dir).save(saved);
    assert.deepEqual(loadTokenizer(saved).encode('What is Paris?'), runCEncode(t, 'What is Paris?', true));
    // Truncated: a LetheError naming the file.
    writeFileSync(join(dir, 'tokenizer.bin'), llama2cTokenizerBin().subarray(0, 3001));
    assert.throws(() => loadTokenizer(dir), (e: unknown) => e instanceof LetheError && e.message.startsWith(join(dir, 'tokenizer.bin')));
    rmSync(join(dir, 'tokenizer.bin'));
    assert.throws(() => loadTokenizer(dir), (e: unknown) => e instanceof LetheError && /no tokenizer\.json \(or llama2\.c tokenizer\.bin\)/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a llama2.c tokenizer without byte pieces (the model fixtures\' 96 tokens) encodes as run.c does on its characters; others become <unk>', () => {
  const file = fileURLToPath(new URL('../../fixtures/models/llama2c-shared/tokenizer.bin', import.meta.url));
  const t = parseLlama2cTokenizer(readFileSync(file), 96, file);
  const tokenizer = loadTokenizer(dirname(file));
  assert.equal(tokenizer.vocabSize, 96);
  const piece = fc.constantFrom('the', 'he', 'in', 'a', 'b', 'Z', ' ', '  ', 'at', 'nt', '.', ',', '?', "'", '0', '42', 'Tea', 'or');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 20 }).map((p) => p.join('')), (text) => {
      assert.deepEqual(tokenizer.encode(text), runCEncode(t, text, true));
    }),
    { numRuns: 300 },
  );
  assert.deepEqual(tokenizer.encode('a€', { addSpecialTokens: false }).map((id) => tokenizer.idToToken(id)), ['\u2581a', '<unk>']);
});
