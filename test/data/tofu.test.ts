import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LetheError } from '../../src/engine/errors.ts';
import type { QaItem } from '../../src/data/qa-dataset.ts';
import { TOFU_SPLITS, loadTofuIdk, loadTofuSplit, selectTofuAuthors, tofuAuthorOf } from '../../src/data/tofu.ts';

const key = (item: QaItem): string => JSON.stringify([item.question, item.answer]);
const keys = (items: QaItem[]): string[] => items.map(key);

test('every TOFU split loads with its documented number of rows', () => {
  const sizes: Record<string, number> = {
    full: 4000, forget01: 40, forget05: 200, forget10: 400, retain90: 3600, retain95: 3800, retain99: 3960,
    forget01_perturbed: 40, forget05_perturbed: 200, forget10_perturbed: 400, retain_perturbed: 400,
    real_authors_perturbed: 100, world_facts_perturbed: 117,
  };
  assert.deepEqual([...TOFU_SPLITS].sort(), Object.keys(sizes).sort());
  for (const split of TOFU_SPLITS) assert.equal(loadTofuSplit(split).length, sizes[split], split);
  // 100 refusals (the data README says 99: the last line has no newline).
  assert.equal(loadTofuIdk().length, 100);
  assert.ok(loadTofuIdk().includes("I don't have that information."));
});

test('full = retain90 followed by forget10; forget01 ⊂ forget05 ⊂ forget10 ⊂ full; retainXX = full minus forgetXX', () => {
  const full = keys(loadTofuSplit('full'));
  const forget10 = keys(loadTofuSplit('forget10'));
  assert.deepEqual([...keys(loadTofuSplit('retain90')), ...forget10], full);
  assert.deepEqual(forget10, full.slice(3600));
  assert.deepEqual(keys(loadTofuSplit('forget05')), forget10.slice(0, 200));
  assert.deepEqual(keys(loadTofuSplit('forget01')), forget10.slice(0, 40));
  for (const [forget, retain] of [['forget01', 'retain99'], ['forget05', 'retain95']]) {
    const gone = new Set(keys(loadTofuSplit(forget)));
    assert.deepEqual(keys(loadTofuSplit(retain)), full.filter((k) => !gone.has(k)), retain);
  }
});

test('perturbed splits carry the truth-ratio fields', () => {
  for (const split of ['forget10_perturbed', 'retain_perturbed'] as const) {
    const items = loadTofuSplit(split);
    assert.ok(items.every((i) => i.paraphrasedAnswer !== undefined && i.perturbedAnswers?.length === 5), split);
  }
  assert.deepEqual(keys(loadTofuSplit('forget10_perturbed')), keys(loadTofuSplit('forget10')));
  assert.deepEqual(keys(loadTofuSplit('retain_perturbed')), keys(loadTofuSplit('full')).slice(0, 400));
  const realAuthors = loadTofuSplit('real_authors_perturbed');
  assert.ok(realAuthors.every((i) => i.originalAnswer !== undefined && i.perturbedAnswers?.length === 3));
});

test('an unknown split is an error listing the known ones', () => {
  assert.throws(
    () => loadTofuSplit('forget20'),
    (e: unknown) => e instanceof LetheError && /unknown TOFU split "forget20"/.test(e.message) && e.message.includes(TOFU_SPLITS.join(', ')),
  );
});

test('selectTofuAuthors takes whole authors: 8 authors with 2 to forget', () => {
  const full = loadTofuSplit('full');
  const subset = selectTofuAuthors({ authors: 8, forget: 2 });
  assert.equal(subset.forgetSet.length, 40);
  assert.equal(subset.retainSet.length, 120);
  assert.deepEqual(subset.forgetAuthors, [180, 181]);
  assert.deepEqual(subset.retainAuthors, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(keys(subset.forgetSet), keys(loadTofuSplit('forget01')));
  assert.deepEqual(keys(subset.retainSet), keys(full.slice(0, 120)));
  // Each row's author by its position in full.jsonl.
  const rowOf = new Map(full.map((item, row) => [key(item), row]));
  assert.deepEqual([...new Set(subset.forgetSet.map((i) => tofuAuthorOf(rowOf.get(key(i))!)))], [180, 181]);
  // Both sides keep the paraphrased/perturbed answers the truth ratio needs.
  assert.ok([...subset.forgetSet, ...subset.retainSet].every((i) => i.perturbedAnswers?.length === 5));
  // A retain side past the perturbed authors (0..19) still works, without the extra fields there.
  const large = selectTofuAuthors({ authors: 30, forget: 5 });
  assert.equal(large.retainSet.length, 500);
  assert.equal(large.retainSet[399].perturbedAnswers?.length, 5);
  assert.equal(large.retainSet[400].perturbedAnswers, undefined);
});

test('selectTofuAuthors rejects impossible subsets', () => {
  const letheError = (e: unknown) => e instanceof LetheError && /TOFU subset/.test(e.message);
  assert.throws(() => selectTofuAuthors({ authors: 8, forget: 0 }), letheError);
  assert.throws(() => selectTofuAuthors({ authors: 8, forget: 21 }), letheError);
  assert.throws(() => selectTofuAuthors({ authors: 2, forget: 2 }), letheError);
  assert.throws(() => selectTofuAuthors({ authors: 201, forget: 20 }), letheError);
});
