// MUSE VerbMem / KnowMem: mean ROUGE-L F1, by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { knowMem, verbMem } from '../../../src/eval/metrics/muse.ts';

function close(actual: number | null, expected: number): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= 1e-15, `${actual} vs ${expected}`);
}

test('VerbMem: mean ROUGE-L F1 of continuations, no stemming by default', () => {
  // pair 0: LCS "the quick brown jumps the" = 5 of 9 (reference) and 8 (generation): F1 10/17
  // pair 1: generation repeats the reference exactly: F1 1
  const pairs = [
    { generation: 'The quick brown dog jumps on the log.', reference: 'The quick brown fox jumps over the lazy dog' },
    { generation: 'Once upon a time', reference: 'once upon a time' },
  ];
  const r = verbMem(pairs);
  close(r.perItem[0], 10 / 17);
  close(r.perItem[1], 1);
  close(r.value, (10 / 17 + 1) / 2);
});

test('KnowMem: F1, which recall alone would overstate; stemming is an option', () => {
  // reference "jumped" (1 token), generation "he jumped over it" (4): P 1/4, R 1, F1 0.4
  // reference "days" vs generation "day": 0 unstemmed, 1 stemmed
  const r = knowMem([
    { generation: 'he jumped over it', reference: 'jumped' },
    { generation: 'day', reference: 'days' },
  ]);
  close(r.perItem[0], 0.4);
  close(r.perItem[1], 0);
  close(knowMem([{ generation: 'day', reference: 'days' }], { stem: true }).value, 1);
  assert.equal(knowMem([]).value, null);
});
