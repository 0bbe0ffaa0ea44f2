import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LetheError } from '../../src/engine/errors.ts';
import { batchEncoded, bucketFor, encodePairs, lengthBuckets, makeBatches, type Batch } from '../../src/data/batches.ts';
import { chatTemplate, plainTemplate, templatePairs } from '../../src/data/templates.ts';
import { loadTofuSplit } from '../../src/data/tofu.ts';
import type { Tokenizer } from '../../src/models/tokenizer/tokenizer.ts';
import { tofuChatTokenizer, tofuTokenizer } from '../models/tokenizer/trained.ts';

const letheError = (pattern: RegExp) => (e: unknown) => e instanceof LetheError && pattern.test(e.message);

/** Row b of a (B, T) array. */
function row<T extends BigInt64Array | Float32Array>(values: T, batch: Batch, b: number): T {
  return values.subarray(b * batch.seqLength, (b + 1) * batch.seqLength) as T;
}

/** The text of the labels at masked positions of row b. */
function maskedText(tokenizer: Tokenizer, batch: Batch, b: number): string {
  const labels = row(batch.labels, batch, b);
  const mask = row(batch.targetMask, batch, b);
  const ids = [...labels].filter((_, t) => mask[t] === 1).map(Number);
  return tokenizer.decode(ids);
}

test('the target mask lands exactly on the answer tokens (plain template, EOS appended)', () => {
  const tokenizer = tofuTokenizer();
  const items = loadTofuSplit('forget01');
  const batches = makeBatches(tokenizer, templatePairs(plainTemplate(), items), { batchSize: 8, contextLength: 256 });
  assert.equal(batches.length, 5);
  for (const batch of batches) {
    for (let b = 0; b < batch.batchSize; b++) {
      const item = items[batch.indices[b]];
      // Byte-level BPE usually joins the prompt's trailing space to the answer's first word
      // ("ĠThe"): that token straddles the boundary, so it is the answer's.
      const answer = maskedText(tokenizer, batch, b);
      assert.ok(answer === item.answer + '<|endoftext|>' || answer === ' ' + item.answer + '<|endoftext|>', answer);
      // The unmasked real positions hold the rest of the prompt.
      const inputs = [...row(batch.inputIds, batch, b)].map(Number);
      const prompt = `Question: ${item.question}\nAnswer: `;
      assert.equal(tokenizer.decode(inputs.slice(0, batch.promptLengths[b])) + answer, prompt + item.answer + '<|endoftext|>');
      // The row is the whole text as the tokenizer encodes it, then EOS.
      assert.deepEqual(inputs.slice(0, batch.lengths[b]), [...tokenizer.encode(prompt + item.answer), tokenizer.eosId]);
    }
  }
});

test('the target mask lands on the assistant turn with a chat template', () => {
  const tokenizer = tofuChatTokenizer();
  const template = chatTemplate(tokenizer);
  const items = loadTofuSplit('forget01').slice(0, 6);
  const [batch] = makeBatches(tokenizer, templatePairs(template, items), {
    batchSize: 6, contextLength: 512, promptSpecialTokens: template.promptSpecialTokens, appendEos: template.appendEos,
  });
  for (let b = 0; b < 6; b++) assert.equal(maskedText(tokenizer, batch, b), items[b].answer + '<|im_end|>\n');
});

test('labels are the next token, masks count the target tokens, padding is right and never scored', () => {
  const tokenizer = tofuTokenizer();
  const pairs = [{ prompt: 'Question: Who?\nAnswer: ', target: 'Basil.' }, { prompt: 'Q', target: 'A much longer answer than the other one.' }];
  const encoded = encodePairs(tokenizer, pairs);
  const [batch] = makeBatches(tokenizer, pairs, { batchSize: 2, contextLength: 64 });
  const T = bucketFor(Math.max(...encoded.map((e) => e.ids.length)), lengthBuckets(64));
  assert.equal(batch.seqLength, T);
  assert.equal(batch.inputIds.length, 2 * T);
  assert.ok(encoded.some((e) => e.ids.length < T), 'one row is padded');
  for (let b = 0; b < 2; b++) {
    const { ids, promptLength } = encoded[b];
    assert.equal(batch.lengths[b], ids.length);
    assert.equal(batch.promptLengths[b], promptLength);
    const inputs = row(batch.inputIds, batch, b);
    const labels = row(batch.labels, batch, b);
    const mask = row(batch.targetMask, batch, b);
    for (let t = 0; t < T; t++) {
      assert.equal(inputs[t], t < ids.length ? BigInt(ids[t]) : BigInt(tokenizer.padId!));
      assert.equal(labels[t], t + 1 < ids.length ? BigInt(ids[t + 1]) : 0n);
      assert.equal(mask[t], t + 1 >= promptLength && t + 1 < ids.length ? 1 : 0);
    }
    // One masked position per target token (target + EOS).
    assert.equal(mask.reduce((s, m) => s + m, 0), ids.length - promptLength);
  }
});

test('batches pad to the smallest bucket holding their longest row', () => {
  assert.deepEqual(lengthBuckets(512), [16, 32, 64, 128, 256, 512]);
  assert.deepEqual(lengthBuckets(100), [16, 32, 64, 100]);
  assert.deepEqual(lengthBuckets(8), [8]);
  assert.equal(bucketFor(16, [16, 32]), 16);
  assert.equal(bucketFor(17, [16, 32]), 32);
  const encoded = [3, 17, 40, 5].map((n) => ({ ids: Array.from({ length: n }, (_, i) => i + 1), promptLength: 1 }));
  const batches = batchEncoded(encoded, 0, { batchSize: 1, contextLength: 64 });
  assert.deepEqual(batches.map((b) => b.seqLength), [16, 32, 64, 16]);
  const custom = batchEncoded(encoded, 0, { batchSize: 2, contextLength: 64, buckets: [24, 48, 64] });
  assert.deepEqual(custom.map((b) => b.seqLength), [24, 48]);
});

test('order: given, seeded shuffle (same seed, same order), or by length', () => {
  const encoded = [9, 2, 7, 4, 5, 1, 8, 3, 6].map((n) => ({ ids: Array(n).fill(1), promptLength: 1 }));
  const order = (batches: Batch[]) => batches.flatMap((b) => [...b.indices]);
  const options = { batchSize: 4, contextLength: 32 };
  assert.deepEqual(order(batchEncoded(encoded, 0, options)), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  const shuffled = order(batchEncoded(encoded, 0, { ...options, order: 'shuffle', seed: 7 }));
  assert.deepEqual(order(batchEncoded(encoded, 0, { ...options, order: 'shuffle', seed: 7 })), shuffled);
  assert.notDeepEqual(order(batchEncoded(encoded, 0, { ...options, order: 'shuffle', seed: 8 })), shuffled);
  assert.deepEqual([...shuffled].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(order(batchEncoded(encoded, 0, { ...options, order: 'length' })), [5, 1, 7, 3, 4, 8, 2, 6, 0]);
});

test('the last batch is smaller, or filled with empty rows on request', () => {
  const encoded = [3, 4, 5].map((n) => ({ ids: Array(n).fill(2), promptLength: 1 }));
  assert.deepEqual(batchEncoded(encoded, 0, { batchSize: 2, contextLength: 16 }).map((b) => b.batchSize), [2, 1]);
  const filled = batchEncoded(encoded, 0, { batchSize: 2, contextLength: 16, fillLastBatch: true });
  const last = filled[1];
  assert.equal(last.batchSize, 2);
  assert.deepEqual([...last.indices], [2, -1]);
  assert.deepEqual([...last.lengths], [5, 0]);
  assert.equal(row(last.targetMask, last, 1).every((m) => m === 0), true);
});

test('an item longer than the context is an error naming the item and its lengths', () => {
  const tokenizer = tofuTokenizer();
  const long = 'The author wrote many books. '.repeat(40);
  const pairs = [{ prompt: 'Q: ', target: 'short' }, { prompt: 'Question: x\nAnswer: ', target: long }];
  assert.throws(
    () => makeBatches(tokenizer, pairs, { batchSize: 2, contextLength: 64 }),
    letheError(/^item 2: \d+ tokens \(prompt \d+ \+ target \d+\) exceed the context length 64 \(/),
  );
});

test('empty sets, empty targets and bad options are errors', () => {
  const tokenizer = tofuTokenizer();
  assert.throws(() => makeBatches(tokenizer, [], { batchSize: 2, contextLength: 64 }), letheError(/empty set/));
  assert.throws(() => batchEncoded([], 0, { batchSize: 2, contextLength: 64 }), letheError(/empty set/));
  assert.throws(
    () => makeBatches(tokenizer, [{ prompt: 'Q', target: '' }], { batchSize: 1, contextLength: 64, appendEos: false }),
    letheError(/item 1: the target has no tokens/),
  );
  const one = [{ prompt: 'Q', target: 'A' }];
  assert.throws(() => makeBatches(tokenizer, one, { batchSize: 0, contextLength: 64 }), letheError(/batchSize/));
  assert.throws(() => makeBatches(tokenizer, one, { batchSize: 1, contextLength: 64, buckets: [32, 16, 64] }), letheError(/ascending/));
  assert.throws(() => makeBatches(tokenizer, one, { batchSize: 1, contextLength: 64, buckets: [16, 32] }), letheError(/at least the context length/));
});
