// ROUGE-L as rouge_score computes it, on pairs worked out by hand (the LCS written out).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lcsLength, rougeL, rougeTokenize } from '../../../src/eval/stats/rouge.ts';

function close(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) <= 1e-15, `${actual} vs ${expected}`);
}

test('tokenizer lower-cases, splits on anything outside [a-z0-9], drops empty tokens', () => {
  assert.deepEqual(rougeTokenize('  Café—au-lait, 42 ÉCLAIRS!  '), ['caf', 'au', 'lait', '42', 'clairs']);
  assert.deepEqual(rougeTokenize('!!! ...'), []);
});

test('stemming touches only tokens longer than 3 characters, with NLTK rules', () => {
  assert.deepEqual(rougeTokenize('Days runs ran cries news', true), ['day', 'run', 'ran', 'cri', 'news']);
});

test('lcsLength on typed arrays', () => {
  assert.equal(lcsLength(Int32Array.from([1, 2, 3, 4, 1]), Int32Array.from([3, 4, 1, 2, 1])), 3);
  assert.equal(lcsLength(new Int32Array(0), Int32Array.from([1])), 0);
  assert.equal(lcsLength(Int32Array.from([7, 7, 7]), Int32Array.from([7, 7])), 2);
});

test("rouge_score's README pair: precision 5/8, recall 5/9, F1 10/17", () => {
  // ref:  the quick brown fox jumps over the lazy dog   (9 tokens)
  // pred: the quick brown dog jumps on the log          (8 tokens)
  // LCS:  the quick brown jumps the                     (5)
  const s = rougeL('The quick brown fox jumps over the lazy dog', 'The quick brown dog jumps on the log.', { stem: true });
  close(s.precision, 5 / 8);
  close(s.recall, 5 / 9);
  close(s.f1, 10 / 17);
});

test('stemming turns a zero score into a match', () => {
  // ref:  he was running and jumped   → stemmed: he was run and jump   (5 tokens)
  // pred: she runs, jumping.          → stemmed: she run jump          (3 tokens)
  // LCS without stemming: none; with: run jump (2)
  const plain = rougeL('He was running and jumped', 'she runs, jumping.');
  assert.deepEqual(plain, { precision: 0, recall: 0, f1: 0 });
  const stemmed = rougeL('He was running and jumped', 'she runs, jumping.', { stem: true });
  close(stemmed.precision, 2 / 3);
  close(stemmed.recall, 2 / 5);
  close(stemmed.f1, 0.5);
});

test("NLTK's stemmer, not Porter's original: 'days' meets 'day'", () => {
  // ref: three days → three day (stemmed); pred: three day ('day' has 3 letters: not stemmed)
  // LCS with stemming: three day (2); without: three (1)
  assert.deepEqual(rougeL('Three days', 'three day', { stem: true }), { precision: 1, recall: 1, f1: 1 });
  assert.deepEqual(rougeL('Three days', 'three day'), { precision: 0.5, recall: 0.5, f1: 0.5 });
});

test('repeated tokens: recall and F1 differ', () => {
  // ref: a b a b a (5), pred: b a b (3); LCS: b a b (3)
  const s = rougeL('a b a b a', 'b a b');
  close(s.precision, 1);
  close(s.recall, 3 / 5);
  close(s.f1, 0.75);
});

test('an empty side scores 0, not NaN', () => {
  assert.deepEqual(rougeL('', 'something'), { precision: 0, recall: 0, f1: 0 });
  assert.deepEqual(rougeL('something', '...'), { precision: 0, recall: 0, f1: 0 });
});
