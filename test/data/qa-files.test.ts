// A user's TOFU-format QA files: JSON arrays and JSON Lines read alike, items without perturbed
// answers are reported, TOFU's own files read exactly as the built-in reader reads them, and bad
// input names file:line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../../src/engine/errors.ts';
import { readQaJsonl } from '../../src/data/qa-dataset.ts';
import { assertDisjointQaFiles, parseQaFile, readQaFile } from '../../src/data/qa-files.ts';
import { TOFU_DIR, TOFU_SPLITS } from '../../src/data/tofu.ts';

const letheError = (pattern: RegExp) => (e: unknown) => e instanceof LetheError && pattern.test(e.message);
const rows = [
  { name: 'Ada Vell', question: 'Where was Ada Vell born?', answer: 'In Brask.', paraphrased_answer: 'Brask is her birthplace.', perturbed_answer: ['In Orlo.', 'In Tam.'], paraphrased_question: 'What is Ada Vell\'s birthplace?' },
  { name: 'Ada Vell', question: 'What does Ada Vell write?', answer: 'Poetry.', paraphrased_answer: 'She writes poems.' },
  { question: 'Who taught Ada Vell?', answer: 'Her aunt.', perturbed_answer: [] },
];

test('a JSON array and JSON Lines of the same items read alike; items lacking perturbed or paraphrased answers are listed', () => {
  const array = parseQaFile(JSON.stringify(rows, null, 2), 'people.json');
  const lines = parseQaFile(rows.map((r) => JSON.stringify(r)).join('\n') + '\n', 'people.jsonl');
  const strip = (items: typeof array.items) => items.map(({ where: _where, source: _source, ...rest }) => rest);
  assert.deepEqual(strip(array.items), strip(lines.items));
  assert.deepEqual(lines.items[0], {
    question: 'Where was Ada Vell born?', answer: 'In Brask.', paraphrasedAnswer: 'Brask is her birthplace.',
    perturbedAnswers: ['In Orlo.', 'In Tam.'], paraphrasedQuestion: 'What is Ada Vell\'s birthplace?', name: 'Ada Vell', where: 'people.jsonl:1', source: { file: 'people.jsonl', line: 1 },
  });
  assert.deepEqual(lines.withoutPerturbed, ['people.jsonl:2', 'people.jsonl:3']); // an empty list counts as none
  assert.deepEqual(lines.withoutParaphrased, ['people.jsonl:3']);
  assert.deepEqual(array.items.map((i) => i.where), ['people.json:2', 'people.json:13', 'people.json:19']);
});

test('every shipped TOFU split reads as the built-in TOFU reader reads it (items, their file and line)', () => {
  for (const split of TOFU_SPLITS) {
    const file = fileURLToPath(new URL(`${split}.jsonl`, TOFU_DIR));
    const ours = readQaFile(file).items.map(({ where: _where, ...rest }) => rest);
    const builtIn = readQaJsonl(file).map((i) => (i.perturbedAnswers?.length === 0 ? (({ perturbedAnswers: _p, ...rest }) => rest)(i) : i));
    assert.deepEqual(ours, builtIn, split);
  }
});

test('bad QA input is one LetheError naming file:line and the problem', () => {
  assert.throws(() => parseQaFile('{"question": "Q?"}', 'f.jsonl'), letheError(/^f\.jsonl:1: missing field "answer"$/));
  assert.throws(() => parseQaFile('{"question": "Q?", "answer": "  "}', 'f.jsonl'), letheError(/^f\.jsonl:1: field "answer" is empty$/));
  assert.throws(() => parseQaFile('\n{"question": "Q?", "answer": "A", "perturbed_answer": "B"}', 'f.jsonl'), letheError(/^f\.jsonl:2: field "perturbed_answer" must be a list of strings, got string$/));
  assert.throws(() => parseQaFile('{"question": "Q?", "answer": "A", "perturbed_answer": ["B", ""]}', 'f.jsonl'), letheError(/^f\.jsonl:1: field "perturbed_answer" element 1 is empty$/));
  assert.throws(() => parseQaFile('{"question": "Q?", "answer": "A", "name": 3}', 'f.jsonl'), letheError(/^f\.jsonl:1: field "name" must be a string, got number$/));
  assert.throws(() => parseQaFile('[\n{"question": "Q?", "answer": "A"}\n{"question": "R?", "answer": "B"}\n]', 'f.json'), letheError(/^f\.json:3: not valid JSON: CommaExpected$/));
  assert.throws(() => parseQaFile('', 'f.jsonl'), letheError(/^f\.jsonl: no items/));
});

test('forget and retain files sharing a question are refused, naming both places', () => {
  const forget = parseQaFile('{"question": "Q1?", "answer": "A"}\n{"question": "Q2?", "answer": "B"}', 'forget.jsonl');
  const retain = parseQaFile('{"question": "Q3?", "answer": "C"}\n{"question": " Q2?", "answer": "D"}', 'retain.jsonl');
  assert.throws(() => assertDisjointQaFiles([forget, retain]), letheError(/^retain\.jsonl:2: the question also appears at forget\.jsonl:2; the sets must not overlap$/));
  // Repeats inside one file are the file's own business (TOFU repeats none, but a user may).
  assertDisjointQaFiles([parseQaFile('{"question": "Q?", "answer": "A"}\n{"question": "Q?", "answer": "B"}', 'x.jsonl'), retain]);
});
