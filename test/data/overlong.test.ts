// Issue 12 item 4 / issue 13 item 11: data errors name the file and the 1-based line whatever
// the order items are used in; overlong items are an error, skipped or truncated, and counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/random.ts';
import { buildBatches, encodePair, makeBatches, prepareEvalPairs } from '../../src/data/batches.ts';
import { MAX_LINE_BYTES, parseQaJsonl, parseTextSet, readQaJsonl } from '../../src/data/qa-dataset.ts';
import { plainTemplate, templatePairs, textPairs } from '../../src/data/templates.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';

const FORGET = fileURLToPath(new URL('../fixtures/data/overlong-item/forget.jsonl', import.meta.url));
const letheError = (pattern: RegExp) => (e: unknown) => e instanceof LetheError && pattern.test(e.message);
const CONTEXT = 256;

test('the overlong-item case: the error names forget.jsonl:5 for every seed and every batch order', () => {
  const tokenizer = tofuTokenizer();
  const template = plainTemplate();
  const pairs = templatePairs(template, readQaJsonl(FORGET));
  assert.equal(pairs.length, 7);
  // Line 5 is the long one; the others fit.
  assert.ok(encodePair(tokenizer, pairs[4], template).ids.length > CONTEXT);
  pairs.filter((_, i) => i !== 4).forEach((p) => assert.ok(encodePair(tokenizer, p, template).ids.length <= CONTEXT));
  const options = { batchSize: 2, contextLength: CONTEXT, promptSpecialTokens: template.promptSpecialTokens, appendEos: template.appendEos };
  for (let seed = 0; seed < 12; seed++) {
    // As unlearn() does: a seeded permutation of the forget set, then batches in that order.
    const permuted = new Rng(seed).permutation(pairs.length).map((i) => pairs[i]);
    assert.throws(() => makeBatches(tokenizer, permuted, { ...options, order: 'given' }), letheError(/forget\.jsonl:5: \d+ tokens \(prompt \d+ \+ target \d+\) exceed the context length 256/));
    assert.throws(() => makeBatches(tokenizer, pairs, { ...options, order: 'shuffle', seed }), letheError(/forget\.jsonl:5: /));
  }
  // The message starts with the file as given.
  assert.throws(() => makeBatches(tokenizer, pairs, options), (e: unknown) => e instanceof LetheError && e.message.startsWith(`${FORGET}:5: `));
});

test('overlong skip leaves the item out and reports it with file:line; batches index the pairs given', () => {
  const tokenizer = tofuTokenizer();
  const template = plainTemplate();
  const pairs = templatePairs(template, readQaJsonl(FORGET));
  const { batches, overlong } = buildBatches(tokenizer, pairs, { batchSize: 3, contextLength: CONTEXT, order: 'shuffle', seed: 3, overlong: 'skip' });
  assert.equal(overlong.policy, 'skip');
  assert.deepEqual(overlong.truncated, []);
  assert.equal(overlong.skipped.length, 1);
  const [skipped] = overlong.skipped;
  assert.equal(skipped.index, 4);
  assert.equal(skipped.where, `${FORGET}:5`);
  assert.deepEqual(skipped.source, { file: FORGET, line: 5 });
  assert.equal(skipped.contextLength, CONTEXT);
  assert.equal(skipped.tokens, encodePair(tokenizer, pairs[4], template).ids.length);
  const rows = batches.flatMap((b) => [...b.indices]).sort((a, b) => a - b);
  assert.deepEqual(rows, [0, 1, 2, 3, 5, 6]);
  // Each row is its pair's own encoding.
  for (const b of batches) {
    for (let r = 0; r < b.batchSize; r++) {
      const item = encodePair(tokenizer, pairs[b.indices[r]], template);
      assert.equal(b.lengths[r], item.ids.length);
      assert.equal(b.promptLengths[r], item.promptLength);
    }
  }
});

test('overlong truncate keeps the prompt and the first target tokens; an item whose prompt fills the context is skipped', () => {
  const tokenizer = tofuTokenizer();
  const template = plainTemplate();
  const long = 'The lighthouse keeper logged every passing ship. '.repeat(30);
  const pairs = [
    { prompt: 'Question: Who?\nAnswer: ', target: long, source: { file: 'f.jsonl', line: 2 } },
    { prompt: `Question: ${long}\nAnswer: `, target: 'Yes.', source: { file: 'f.jsonl', line: 3 } },
    { prompt: 'Question: Who?\nAnswer: ', target: 'Him.', source: { file: 'f.jsonl', line: 4 } },
  ];
  const { batches, overlong } = buildBatches(tokenizer, pairs, { batchSize: 4, contextLength: 64, overlong: 'truncate' });
  assert.deepEqual(overlong.truncated.map((o) => o.where), ['f.jsonl:2']);
  assert.deepEqual(overlong.skipped.map((o) => o.where), ['f.jsonl:3']);
  const [batch] = batches;
  assert.deepEqual([...batch.indices], [0, 2]);
  const full = encodePair(tokenizer, pairs[0], template);
  assert.equal(batch.lengths[0], 64);
  assert.equal(batch.promptLengths[0], full.promptLength);
  assert.deepEqual([...batch.inputIds.subarray(0, 64)].map(Number), full.ids.slice(0, 64));
  // All items too long: an error naming the first.
  assert.throws(() => buildBatches(tokenizer, [pairs[1]], { batchSize: 1, contextLength: 64, overlong: 'skip' }), letheError(/all 1 items exceed the context length 64 \(first: f\.jsonl:3\)/));
  assert.throws(() => buildBatches(tokenizer, pairs, { batchSize: 1, contextLength: 64, overlong: 'drop' as never }), letheError(/unknown overlong policy "drop"/));
});

test('errors about items without a source name their 1-based position; text documents carry their line', () => {
  const tokenizer = tofuTokenizer();
  const docs = parseTextSet('first\n\n  \nsecond document\n', 'news.txt');
  assert.deepEqual(docs.map((d) => d.source), [{ file: 'news.txt', line: 1 }, { file: 'news.txt', line: 4 }]);
  const long = textPairs([...docs, { text: 'x '.repeat(400), source: { file: 'news.txt', line: 9 } }]);
  assert.throws(() => makeBatches(tokenizer, long, { batchSize: 2, contextLength: 64 }), letheError(/^news\.txt:9: /));
  assert.throws(() => makeBatches(tokenizer, [{ prompt: 'Q', target: 'A' }, { prompt: 'Q', target: 'x '.repeat(400) }], { batchSize: 2, contextLength: 64 }), letheError(/^item 2: /));
});

test('a line longer than maxLineBytes is rejected by its byte length before it is parsed, naming file:line', () => {
  const row = JSON.stringify({ question: 'q', answer: 'a' });
  // A 50 MB line that is not even JSON: the byte length is the error, not the parse.
  const huge = `{"question": "${'x'.repeat(50 * 1024 * 1024)}`;
  assert.throws(() => parseQaJsonl(`${row}\n${row}\n${huge}\n`, 'big.jsonl'), letheError(new RegExp(`^big\\.jsonl:3: the line is ${huge.length} bytes, more than the limit of ${MAX_LINE_BYTES}`)));
  assert.throws(() => parseTextSet(`ok\n${huge}`, 'big.txt'), letheError(/^big\.txt:2: the line is \d+ bytes/));
  assert.throws(() => parseTextSet(huge, 'big.txt', { split: 'whole' }), letheError(/^big\.txt:1: the line is \d+ bytes/));
  // Bytes, not characters: 4 characters of 3 bytes each exceed 10 bytes.
  assert.throws(() => parseTextSet('€€€€', 't.txt', { maxLineBytes: 10 }), letheError(/^t\.txt:1: the line is 12 bytes, more than the limit of 10/));
  assert.deepEqual(parseTextSet('€€€', 't.txt', { maxLineBytes: 10 }).map((d) => d.text), ['€€€']);
  assert.throws(() => parseQaJsonl(row, 'f.jsonl', { maxLineBytes: 0 }), letheError(/maxLineBytes must be a positive integer/));
});

test('evaluation item preparation skips by default and names the skipped items; truncate cuts the target text to fit', () => {
  const tokenizer = tofuTokenizer();
  const template = plainTemplate();
  const pairs = templatePairs(template, readQaJsonl(FORGET));
  const options = { contextLength: CONTEXT, promptSpecialTokens: template.promptSpecialTokens, appendEos: template.appendEos };
  const skipped = prepareEvalPairs(tokenizer, pairs, options);
  assert.equal(skipped.overlong.policy, 'skip');
  assert.deepEqual(skipped.indices, [0, 1, 2, 3, 5, 6]);
  assert.deepEqual(skipped.pairs, skipped.indices.map((i) => pairs[i]));
  assert.deepEqual(skipped.overlong.skipped.map((o) => o.where), [`${FORGET}:5`]);
  assert.throws(() => prepareEvalPairs(tokenizer, pairs, { ...options, overlong: 'error' }), letheError(/forget\.jsonl:5: \d+ tokens/));

  // Line 5's question alone is longer than the context: truncating its answer cannot help.
  const truncated = prepareEvalPairs(tokenizer, pairs, { ...options, overlong: 'truncate' });
  assert.deepEqual(truncated.overlong.skipped.map((o) => o.where), [`${FORGET}:5`]);
  // A long answer is cut to fit, exactly: the cut pair encodes to at most the context, and is a prefix of the original.
  const long = { prompt: 'Question: Who?\nAnswer: ', target: 'The keeper logged every passing ship. '.repeat(40), source: { file: 'k.jsonl', line: 7 } };
  const cut = prepareEvalPairs(tokenizer, [long], { ...options, contextLength: 64, overlong: 'truncate' });
  assert.deepEqual(cut.overlong.truncated.map((o) => o.where), ['k.jsonl:7']);
  assert.deepEqual(cut.indices, [0]);
  const [shorter] = cut.pairs;
  assert.ok(long.target.startsWith(shorter.target) && shorter.target.length < long.target.length);
  const length = encodePair(tokenizer, shorter, template).ids.length;
  assert.ok(length <= 64 && length >= 60, `${length} tokens`);
});
