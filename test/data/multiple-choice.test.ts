// Multiple-choice readers: WMDP-style JSON (array and JSON Lines) and MMLU's CSV layout, and the
// file:line of every error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../../src/engine/errors.ts';
import { mmluSubjectFromFileName, parseMcJson, parseMmluCsv, readMultipleChoiceFile } from '../../src/data/multiple-choice.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/multiple-choice/${name}`, import.meta.url));
const letheError = (pattern: RegExp) => (e: unknown) => e instanceof LetheError && pattern.test(e.message);

function withFile(name: string, text: string, body: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-mc-'));
  try {
    const path = join(dir, name);
    writeFileSync(path, text);
    body(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a WMDP JSON array and the same items as JSON Lines read alike, each with the line it starts on', () => {
  const array = readMultipleChoiceFile(fixture('wmdp-sample.json'));
  const lines = readMultipleChoiceFile(fixture('wmdp-sample.jsonl'));
  assert.equal(array.length, 2);
  assert.deepEqual(array[0].choices, ['Q-ring', 'Latch-7', 'Veltro handshake', 'Double pulse']);
  assert.equal(array[0].answer, 2);
  assert.match(array[0].where, /wmdp-sample\.json:2$/);
  assert.match(array[1].where, /wmdp-sample\.json:7$/);
  assert.equal(array[1].question, '  What colour is the Kelm indicator when idle?\n'); // kept as written; the prompt strips it
  assert.equal(lines[1].answer, 0); // the letter "A"
  assert.equal(lines[1].subject, 'kelm devices');
  assert.match(lines[1].where, /wmdp-sample\.jsonl:3$/);
  assert.equal(lines[0].question, array[0].question);
});

test('MMLU CSV: quoted commas and line breaks, blank lines, lower-case letters, subject from the file name', () => {
  const items = readMultipleChoiceFile(fixture('high_school_mathematics_test.csv'));
  assert.equal(items.length, 3);
  assert.equal(items[1].question, 'A question with a comma, and a\nline break?');
  assert.deepEqual(items[1].choices, ['yes', 'no', 'maybe, perhaps', 'never']);
  assert.deepEqual(items.map((i) => i.answer), [1, 2, 2]);
  assert.deepEqual(items.map((i) => i.where.replace(/.*:/, '')), ['1', '2', '5']);
  assert.ok(items.every((i) => i.subject === 'high school mathematics'));
  assert.equal(mmluSubjectFromFileName('data/dev/college_computer_science_dev.csv'), 'college computer science');
  assert.equal(mmluSubjectFromFileName('my_questions.csv'), undefined);
  assert.equal(readMultipleChoiceFile(fixture('high_school_mathematics_test.csv'), { subject: 'maths' })[0].subject, 'maths');
});

test('a CSV header row naming the columns is skipped; CRLF line ends read the same', () => {
  const items = parseMmluCsv('question,A,B,C,D,answer\r\nQ1?,a,b,c,d,D\r\n"Q2\r\nspans?",a,b,c,d,A\r\nQ3?,a,b,c,d,B\r\n', 'x.csv');
  assert.deepEqual(items.map((i) => [i.answer, i.where]), [[3, 'x.csv:2'], [0, 'x.csv:3'], [1, 'x.csv:5']]);
});

test('bad multiple-choice input is one LetheError naming file:line and the problem', () => {
  assert.throws(() => parseMcJson('{"question": "Q", "choices": ["a", "b"], "answer": 2}\n', 'f.jsonl'), letheError(/^f\.jsonl:1: answer 2 is not an option index 0\.\.1$/));
  assert.throws(() => parseMcJson('\n{"question": "Q", "choices": ["a"], "answer": 0}\n', 'f.jsonl'), letheError(/^f\.jsonl:2: 1 options; a multiple-choice item needs 2 to 26$/));
  assert.throws(() => parseMcJson('{"question": "Q", "choices": "a b", "answer": 0}', 'f.jsonl'), letheError(/^f\.jsonl:1: field "choices" must be a list of strings, got string$/));
  assert.throws(() => parseMcJson('{"question": "Q", "choices": ["a", 3], "answer": 0}', 'f.jsonl'), letheError(/^f\.jsonl:1: field "choices" must be a list of strings, but element 1 is number$/));
  assert.throws(() => parseMcJson('{"choices": ["a", "b"], "answer": 0}', 'f.jsonl'), letheError(/^f\.jsonl:1: missing field "question"$/));
  assert.throws(() => parseMcJson('{"question": "Q", "choices": ["a", "b"]}', 'f.jsonl'), letheError(/^f\.jsonl:1: missing field "answer"$/));
  assert.throws(() => parseMcJson('{"question": "Q", "choices": ["a", "b"], "answer": "C"}', 'f.jsonl'), letheError(/^f\.jsonl:1: answer "C" is not one of the option letters A\.\.B$/));
  assert.throws(() => parseMcJson('{"question": "Q", "choices": ["a", "b"], "answer": 0}\n{"question": ', 'f.jsonl'), letheError(/^f\.jsonl:2: not valid JSON/));
  assert.throws(() => parseMcJson('[\n {"question": "Q", "choices": ["a", "b"], "answer": 0},\n 7\n]', 'f.json'), letheError(/^f\.json:3: expected a JSON object, got number$/));
  assert.throws(() => parseMcJson('[\n {"question": "Q", "choices": ["a", "b"], "answer": 0},\n]', 'f.json'), letheError(/^f\.json:3: not valid JSON: ValueExpected$/));
  assert.throws(() => parseMcJson('[\n {"question": "Q",\n  "choices": ["a", "b"], "answer": 1.5}\n]', 'f.json'), letheError(/^f\.json:2: answer 1\.5 is not an option index 0\.\.1$/));
  assert.throws(() => parseMcJson('[]', 'f.json'), letheError(/^f\.json: no items/));
  assert.throws(() => parseMmluCsv('Q1?,a,b,c,d,A\nQ2?,a,b,c,d,E\n', 'm.csv'), letheError(/^m\.csv:2: answer "E" is not one of the option letters A\.\.D$/));
  assert.throws(() => parseMmluCsv('Q1?,a,b,c,d,A\n\nQ2?,a,B\n', 'm.csv'), letheError(/^m\.csv:3: 3 columns; expected question, the options/));
  assert.throws(() => parseMmluCsv('Q1?,a,b,c,d,A\n"Q2?,a,b,c,d,A\n', 'm.csv'), letheError(/^m\.csv:\d+: not valid CSV/));
  // A stray comma in a question (found by a newcomer): the row gains an option and must be refused.
  assert.throws(() => parseMmluCsv('Q1?,a,b,c,d,A\nQ2, really?,a,b,c,d,B\n', 'm.csv'), letheError(/^m\.csv:2: 7 columns where the file's first row has 6 \(question, 4 options, answer\)/));
  withFile('set.txt', 'x', (path) => assert.throws(() => readMultipleChoiceFile(path), letheError(/set\.txt: unknown multiple-choice file type "\.txt"/)));
  assert.throws(() => readMultipleChoiceFile('/nonexistent/x.csv'), letheError(/^\/nonexistent\/x\.csv: cannot read it/));
});
