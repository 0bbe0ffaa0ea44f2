import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32, seededPermutation } from '../../src/data/rng.ts';

test('mulberry32 repeats for a seed, differs across seeds, and stays in [0, 1) with mean near 1/2', () => {
  const take = (seed: number) => {
    const next = mulberry32(seed);
    return Array.from({ length: 10000 }, () => next());
  };
  const a = take(42);
  assert.deepEqual(take(42), a);
  assert.notDeepEqual(take(43), a);
  assert.ok(a.every((x) => x >= 0 && x < 1));
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02, String(mean));
});

test('seededPermutation is a permutation, fixed by the seed', () => {
  const p = seededPermutation(100, 3);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(seededPermutation(100, 3), p);
  assert.notDeepEqual(seededPermutation(100, 4), p);
  assert.deepEqual(seededPermutation(0, 1), []);
  assert.deepEqual(seededPermutation(1, 1), [0]);
});
