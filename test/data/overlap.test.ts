import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../../src/engine/errors.ts';
import { checkDisjoint, findOverlaps, normaliseWhitespace } from '../../src/data/overlap.ts';
import { parseQaJsonl, parseTextSet, readQaJsonl } from '../../src/data/qa-dataset.ts';
import { loadTofuSplit } from '../../src/data/tofu.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/data/split-overlap/${name}`, import.meta.url));
const letheError = (pattern: RegExp) => (e: unknown) => e instanceof LetheError && pattern.test(e.message);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('the split-overlap case: both forget items are in the retain set, named with both files and lines', () => {
  const forget = readQaJsonl(fixture('forget.jsonl'));
  const retain = readQaJsonl(fixture('retain.jsonl'));
  const sets = [{ name: 'forget', items: forget }, { name: 'retain', items: retain }];
  const [overlap, ...rest] = findOverlaps(sets);
  assert.deepEqual(rest, []);
  assert.deepEqual(overlap.sets, ['forget', 'retain']);
  assert.equal(overlap.count, 2);
  assert.deepEqual(overlap.items.map((i) => [i.first.where, i.second.where]), [
    [`${fixture('forget.jsonl')}:1`, `${fixture('retain.jsonl')}:2`],
    [`${fixture('forget.jsonl')}:2`, `${fixture('retain.jsonl')}:3`],
  ]);
  assert.deepEqual(overlap.items[0].second.source, { file: fixture('retain.jsonl'), line: 2 });
  assert.throws(
    () => checkDisjoint(sets, { hint: '--allow-overlap runs anyway' }),
    letheError(new RegExp(`^${escape(fixture('forget.jsonl'))}:1 \\(forget\\) and ${escape(fixture('retain.jsonl'))}:2 \\(retain\\) hold the same item "Where was the novelist Marisol Quenby born\\?"` +
      ' \\(2 items are shared; this is the first\\); the sets must not overlap \\(--allow-overlap runs anyway\\)$')),
  );
  // Allowed: the overlaps come back for results.json.
  assert.deepEqual(checkDisjoint(sets, { allowOverlap: true }), [overlap]);
});

test('a holdout file equal to the forget file overlaps on every document; whitespace does not hide it', () => {
  const forget = parseTextSet('The keeper logged ships.\nA second   document.\n', 'forget.txt');
  const holdout = parseTextSet('  A second document. \n\nSomething else.\nThe keeper\tlogged ships.\n', 'holdout.txt');
  const [overlap] = checkDisjoint([{ name: 'forget', items: forget }, { name: 'holdout', items: holdout }], { allowOverlap: true });
  assert.equal(overlap.count, 2);
  assert.deepEqual(overlap.items.map((i) => [i.first.where, i.second.where]), [['forget.txt:1', 'holdout.txt:4'], ['forget.txt:2', 'holdout.txt:1']]);
  assert.equal(normaliseWhitespace(' a \t b\n\nc '), 'a b c');
  // Plain strings are named by set and position.
  assert.throws(() => checkDisjoint([{ name: 'forget', items: ['x y'] }, { name: 'holdout', items: ['z', ' x  y '] }]), letheError(/^forget item 1 \(forget\) and holdout item 2 \(holdout\) hold the same item "x y"; the sets must not overlap$/));
});

test('question/answer items overlap only when both question and answer match; disjoint sets pass', () => {
  const a = parseQaJsonl('{"question": "Q?", "answer": "A."}\n{"question": "Q2?", "answer": "B."}', 'a.jsonl');
  const b = parseQaJsonl('{"question": "Q?", "answer": "Other."}\n{"question": " Q2? ", "answer": "B.", "paraphrased_answer": "x"}', 'b.jsonl');
  const c = parseQaJsonl('{"question": "Q3?", "answer": "C."}', 'c.jsonl');
  const overlaps = findOverlaps([{ name: 'a', items: a }, { name: 'b', items: b }, { name: 'c', items: c }]);
  assert.equal(overlaps.length, 1);
  assert.deepEqual(overlaps[0].items.map((i) => [i.first.where, i.second.where]), [['a.jsonl:2', 'b.jsonl:2']]);
  assert.deepEqual(checkDisjoint([{ name: 'a', items: a }, { name: 'c', items: c }]), []);
  // A text document never equals a question/answer item.
  assert.deepEqual(findOverlaps([{ name: 'a', items: a }, { name: 't', items: ['Q? A.', 'Q?'] }]), []);
  assert.throws(() => findOverlaps([{ name: 'a', items: a }, { name: 'a', items: c }]), letheError(/both named "a"/));
});

test('TOFU splits: forget10 and retain90 are disjoint, forget01 lies inside full (with its files and lines)', () => {
  assert.deepEqual(checkDisjoint([{ name: 'forget10', items: loadTofuSplit('forget10') }, { name: 'retain90', items: loadTofuSplit('retain90') }]), []);
  const [overlap] = findOverlaps([{ name: 'forget01', items: loadTofuSplit('forget01') }, { name: 'full', items: loadTofuSplit('full') }]);
  assert.equal(overlap.count, 40);
  assert.match(overlap.items[0].first.where, /forget01\.jsonl:1$/);
  assert.match(overlap.items[0].second.where, /full\.jsonl:3601$/);
});
