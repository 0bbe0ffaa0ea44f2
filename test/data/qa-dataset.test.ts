import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LetheError } from '../../src/engine/errors.ts';
import { parseQaJsonl, readQaJsonl, readTextSet } from '../../src/data/qa-dataset.ts';

const letheError = (pattern: RegExp) => (e: unknown) => e instanceof LetheError && pattern.test(e.message);

function withFile(name: string, text: string, body: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-data-'));
  try {
    const path = join(dir, name);
    writeFileSync(path, text);
    body(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('JSON Lines rows become items with every optional field in camelCase', () => {
  const text = [
    JSON.stringify({ question: 'Q1?', answer: 'A1.' }),
    '',
    JSON.stringify({
      question: 'Q2?', answer: 'A2.', paraphrased_question: 'PQ2?', paraphrased_answer: 'PA2.',
      perturbed_answer: ['W1.', 'W2.'], original_answer: 'The answer is A2.', extra: 7,
    }),
  ].join('\n') + '\n';
  assert.deepEqual(parseQaJsonl(text, 'mem.jsonl'), [
    { question: 'Q1?', answer: 'A1.', source: { file: 'mem.jsonl', line: 1 } },
    {
      question: 'Q2?', answer: 'A2.', paraphrasedQuestion: 'PQ2?', paraphrasedAnswer: 'PA2.',
      perturbedAnswers: ['W1.', 'W2.'], originalAnswer: 'The answer is A2.', source: { file: 'mem.jsonl', line: 3 },
    },
  ]);
});

test('a bad JSON line is an error naming the file and the line number (blank lines counted)', () => {
  const text = `${JSON.stringify({ question: 'q', answer: 'a' })}\n\n{"question": "q", "answer": }\n`;
  withFile('forget.jsonl', text, (path) => {
    assert.throws(() => readQaJsonl(path), letheError(new RegExp(`forget\\.jsonl:3: not valid JSON`)));
    assert.throws(() => readQaJsonl(path), (e: unknown) => (e as Error).message.startsWith(path));
  });
});

test('missing fields and wrong types are errors naming the line and the field', () => {
  assert.throws(() => parseQaJsonl('{"question": "q"}', 'f.jsonl'), letheError(/^f\.jsonl:1: missing field "answer"$/));
  assert.throws(
    () => parseQaJsonl('{"question": "q", "answer": "a"}\n{"question": 5, "answer": "a"}', 'f.jsonl'),
    letheError(/^f\.jsonl:2: field "question" must be a string, got number$/),
  );
  assert.throws(
    () => parseQaJsonl('{"question": "q", "answer": "a", "perturbed_answer": "x"}', 'f.jsonl'),
    letheError(/f\.jsonl:1: field "perturbed_answer" must be an array of strings, got string/),
  );
  assert.throws(
    () => parseQaJsonl('{"question": "q", "answer": "a", "paraphrased_answer": null}', 'f.jsonl'),
    letheError(/f\.jsonl:1: field "paraphrased_answer" must be a string, got null/),
  );
  assert.throws(() => parseQaJsonl('["q", "a"]', 'f.jsonl'), letheError(/f\.jsonl:1: expected a JSON object, got array/));
});

test('an empty set is an error naming the file', () => {
  withFile('empty.jsonl', '\n  \n', (path) => {
    assert.throws(() => readQaJsonl(path), letheError(/empty\.jsonl: no items/));
  });
  assert.throws(() => readQaJsonl('/no/such/dir/x.jsonl'), letheError(/\/no\/such\/dir\/x\.jsonl: cannot read it/));
});

test('plain text sets split per line or keep the whole file; file URLs work too', () => {
  withFile('books.txt', 'First document.\n\nSecond one.\r\nThird.\n', (path) => {
    assert.deepEqual(readTextSet(path), ['First document.', 'Second one.', 'Third.']);
    assert.deepEqual(readTextSet(pathToFileURL(path), { split: 'whole' }), ['First document.\n\nSecond one.\r\nThird.\n']);
  });
  withFile('blank.txt', '\n \n', (path) => {
    assert.throws(() => readTextSet(path), letheError(/blank\.txt: no documents/));
    assert.throws(() => readTextSet(path, { split: 'whole' }), letheError(/blank\.txt: no documents/));
  });
});
