// MUSE VerbMem / KnowMem: mean ROUGE-L F1 by hand, and MUSE's protocol (what is scored, what is
// skipped and counted), including the one-line-document case.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LetheError } from '../../../src/engine/errors.ts';
import { loadTofuSplit } from '../../../src/data/tofu.ts';
import { cutAtStop } from '../../../src/models/generate.ts';
import { KNOWMEM_STOP, knowMem, knowMemPrompt, planKnowMem, planVerbMem, planVerbMemPresplit, verbMem } from '../../../src/eval/metrics/muse.ts';
import { tofuTokenizer } from '../../models/tokenizer/trained.ts';

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


const ids = (length: number, start = 0) => Array.from({ length }, (_, i) => start + i);

test('one-line documents (the issue\'s case): a 1-to-4-token continuation is never scored; every short text is skipped and counted', () => {
  // 20 lines: 11 shorter than the 32-token prefix, 9 that leave 1, 2, 3 or 4 tokens after it
  // (what lethe used to score, so that one matching token made VerbMem rise after unlearning).
  const lines = [...[5, 8, 12, 15, 20, 24, 27, 29, 30, 31, 32].map((n) => ids(n)), ...[33, 33, 34, 34, 35, 35, 36, 36, 36].map((n) => ids(n))];
  assert.equal(lines.length, 20);
  const plan = planVerbMem(lines);
  assert.equal(plan.cases.length, 0);
  assert.equal(plan.skipped.count, 20);
  assert.deepEqual(plan.skipped.indices, ids(20));
  assert.match(plan.skipped.reason, /^20 of 20 texts are shorter than the 32 \+ 128 tokens/);
  const r = verbMem([], { skipped: plan.skipped });
  assert.equal(r.value, null);
  assert.equal(r.n, 0);
  assert.equal(r.skipped?.count, 20);
  assert.match(r.unavailable!, /VerbMem: no items; 20 skipped: 20 of 20 texts are shorter/);
});

test('VerbMem protocol: a long text gives its first 32 tokens as prompt and the next 128 as reference; n and the skipped count ride on the result', () => {
  const texts = [ids(400, 1000), ids(10), ids(160, 2000), ids(159, 3000)];
  const plan = planVerbMem(texts);
  assert.deepEqual(plan.cases.map((c) => c.index), [0, 2]);
  assert.deepEqual(plan.cases[0].promptIds, ids(32, 1000));
  assert.deepEqual(plan.cases[0].referenceIds, ids(128, 1032));
  assert.deepEqual(plan.cases[1].referenceIds, ids(128, 2032));
  assert.deepEqual(plan.skipped.indices, [1, 3]);
  const r = verbMem([{ generation: 'a b', reference: 'a b' }, { generation: 'x', reference: 'y' }], { skipped: plan.skipped });
  assert.equal(r.value, 0.5);
  assert.equal(r.n, 2);
  assert.deepEqual(r.skipped, { count: 2, reason: plan.skipped.reason });
  // A lower bar on the continuation is an explicit choice, and the reason says so.
  const lenient = planVerbMem(texts, { minContinuationTokens: 16 });
  assert.deepEqual(lenient.cases.map((c) => c.index), [0, 2, 3]);
  assert.equal(lenient.cases[2].referenceIds.length, 127);
  assert.match(lenient.skipped.reason, /32 \+ at least 16 tokens/);
});

test('VerbMem protocol: settings that cannot fit the context, or make no sense, are refused', () => {
  assert.throws(() => planVerbMem([ids(200)], { contextLength: 128, specialTokens: 1 }), (e: unknown) => e instanceof LetheError && /need 161 tokens; the context holds 128/.test(e.message));
  assert.throws(() => planVerbMem([ids(200)], { minContinuationTokens: 0 }), LetheError);
  assert.throws(() => planVerbMem([ids(200)], { minContinuationTokens: 129 }), LetheError);
  assert.throws(() => planVerbMem([ids(200)], { prefixTokens: 0 }), LetheError);
});

test('VerbMem protocol with a real tokenizer: TOFU answers as one-line documents are all too short for 32 + 128 tokens', () => {
  const tokenizer = tofuTokenizer();
  const lines = loadTofuSplit('forget01_perturbed').map((i) => i.answer);
  const encoded = lines.map((t) => tokenizer.encode(t, { addSpecialTokens: false }));
  const plan = planVerbMem(encoded);
  assert.equal(plan.cases.length, 0);
  assert.equal(plan.skipped.count, lines.length);
  // Joined into one document they are long enough: prompt + reference are the document's tokens in order.
  const doc = tokenizer.encode(lines.join(' '), { addSpecialTokens: false });
  const [c] = planVerbMem([doc]).cases;
  assert.deepEqual([...c.promptIds, ...c.referenceIds], doc.slice(0, 160));
});

test('KnowMem prompt as MUSE\'s code writes it: solved examples, then the question, ending in "Answer: "', () => {
  assert.equal(knowMemPrompt([{ question: 'Who wrote it?', answer: 'Ann' }], 'When?'), 'Question: Who wrote it?\nAnswer: Ann\n\nQuestion: When?\nAnswer: ');
  assert.equal(knowMemPrompt([], 'When?', false), 'Question: When?\nAnswer:');
  // Answers are cut before a blank line, "\nQuestion" or "Question:" (not at any "Question").
  assert.equal(cutAtStop('In 1990.\nQuestion: next', KNOWMEM_STOP), 'In 1990.');
  assert.equal(cutAtStop('In 1990.\n\nMore', KNOWMEM_STOP), 'In 1990.');
  assert.equal(cutAtStop('The Question of Time', KNOWMEM_STOP), 'The Question of Time');
});

test('KnowMem protocol: a question too long for the context is skipped and counted, not fatal; so is an answer with no word', () => {
  const examples = [{ question: 'q1', answer: 'a1' }];
  const items = [
    { question: 'short?', answer: 'yes' },
    { question: 'long '.repeat(200), answer: 'no' },
    { question: 'punctuation?', answer: '—' },
    { question: 'other?', answer: 'maybe' },
  ];
  const words = (p: string) => p.split(/\s+/).length; // a stand-in tokenizer: one token a word
  const plan = planKnowMem(items, examples, words, { contextLength: 64 });
  assert.deepEqual(plan.cases.map((c) => c.index), [0, 3]);
  assert.equal(plan.cases[0].prompt, knowMemPrompt(examples, 'short?'));
  assert.equal(plan.cases[1].reference, 'maybe');
  assert.deepEqual(plan.skipped.indices, [1, 2]);
  assert.equal(plan.skipped.reason, '1 of 4 questions do not fit the 64-token context with 1 examples and 32 new tokens; 1 of 4 answers have no word for ROUGE to match');
  const r = knowMem(plan.cases.map((c) => ({ generation: c.reference, reference: c.reference })), { skipped: plan.skipped });
  assert.equal(r.value, 1);
  assert.equal(r.n, 2);
  assert.equal(r.skipped?.count, 2);
});

test('VerbMem on MUSE\'s pre-split items: the whole prompt, the ground truth cut to 128 tokens; a short ground truth or an overlong prompt is skipped and counted', () => {
  const items = [
    { prompt: ids(900), continuation: ids(200, 5000) },
    { prompt: ids(40), continuation: ids(3) },
    { prompt: ids(2000), continuation: ids(128) },
    { prompt: [], continuation: ids(128) },
  ];
  const plan = planVerbMemPresplit(items, { contextLength: 2048, specialTokens: 1 });
  assert.deepEqual(plan.cases.map((c) => c.index), [0]);
  assert.equal(plan.cases[0].promptIds.length, 900);
  assert.deepEqual(plan.cases[0].referenceIds, ids(128, 5000));
  assert.deepEqual(plan.skipped.indices, [1, 2, 3]);
  assert.equal(plan.skipped.reason, '1 of 4 items have an empty prompt; 1 of 4 ground truths are shorter than 128 tokens; 1 of 4 prompts and a 128-token continuation do not fit the 2048-token context');
});
