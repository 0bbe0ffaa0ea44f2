// acc, acc_norm, acc_bytes and the harness's standard error against values worked out by hand
// from lm-evaluation-harness's definitions (task.py process_results, metrics.py mean_stderr).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LetheError } from '../../../src/engine/errors.ts';
import { scoreChoices } from '../../../src/eval/multiple-choice/accuracy.ts';
import { meanWithStderr, pooledStderr } from '../../../src/eval/multiple-choice/stderr.ts';

test('acc takes the largest log-likelihood; acc_norm divides by the option length and can disagree', () => {
  // ll = [-1.2, -2.0, -0.9]; lengths 2, 8, 1 → ll/len = [-0.6, -0.25, -0.9].
  const s = scoreChoices([-1.2, -2.0, -0.9], ['no', 'maybe so', 'x'], 1);
  assert.equal(s.pred, 2); // -0.9 is the largest raw log-likelihood
  assert.equal(s.predNorm, 1); // -0.25 is the largest per character
  assert.equal(s.acc, 0);
  assert.equal(s.accNorm, 1);
  assert.deepEqual(s.choiceChars, [2, 8, 1]);
  assert.equal(s.chance, 1 / 3);
});

test('acc_norm counts characters (code points) as the harness does; acc_bytes counts UTF-8 bytes', () => {
  // "café" is 4 characters and 5 bytes; "cafe" 4 and 4. ll = [-2.4, -2.0]:
  // per char [-0.6, -0.5] → option 1; per byte [-0.48, -0.5] → option 0.
  const s = scoreChoices([-2.4, -2.0], ['café', 'cafe'], 0);
  assert.deepEqual(s.choiceChars, [4, 4]);
  assert.deepEqual(s.choiceBytes, [5, 4]);
  assert.deepEqual([s.pred, s.predNorm, s.predBytes], [1, 1, 0]);
  assert.deepEqual([s.acc, s.accNorm, s.accBytes], [0, 0, 1]);
  // A character outside the BMP is one code point (two UTF-16 units, four bytes).
  assert.deepEqual(scoreChoices([-1, -1], ['😀', 'ab'], 0).choiceChars, [1, 2]);
});

test('letters: every option has length 1, so acc_norm equals acc; ties go to the first option', () => {
  const s = scoreChoices([-3.1, -0.7, -0.7, -5], ['A', 'B', 'C', 'D'], 2);
  assert.equal(s.pred, 1);
  assert.equal(s.predNorm, 1);
  assert.equal(s.acc, 0);
  assert.equal(s.accNorm, 0);
  assert.equal(s.chance, 0.25);
});

test('mismatched or empty options are refused', () => {
  assert.throws(() => scoreChoices([-1, -2], ['a', 'b', 'c'], 0), LetheError);
  assert.throws(() => scoreChoices([-1, -2], ['a', ''], 0), LetheError);
  assert.throws(() => scoreChoices([-1, -2], ['a', 'b'], 2), LetheError);
});

test('the standard error is the sample standard deviation over √n, as the harness reports it', () => {
  // [1, 0, 1, 1]: mean 0.75; Σ(x − mean)² = 3·0.0625 + 0.5625 = 0.75; /(n − 1) = 0.25; sd 0.5; /√4 = 0.25.
  const r = meanWithStderr([1, 0, 1, 1], 'acc');
  assert.equal(r.value, 0.75);
  assert.equal(r.stderr, 0.25);
  assert.equal(r.n, 4);
  // [1, 0]: mean 0.5, sample variance 0.5, se √0.5/√2 = 0.5.
  assert.ok(Math.abs(meanWithStderr([1, 0], 'acc').stderr! - 0.5) < 1e-12);
  const one = meanWithStderr([1], 'acc');
  assert.equal(one.value, 1);
  assert.equal(one.stderr, null);
  assert.match(one.stderrUnavailable!, /at least 2 items/);
  const none = meanWithStderr([], 'acc');
  assert.equal(none.value, null);
  assert.match(none.unavailable!, /no items/);
});

test('a group of sets gets the harness\'s pooled standard error, a little below that of all items together', () => {
  // [1,0,1,1]: n 4, s² 0.25; [0,0,1]: n 3, s² 1/3. s_p² = (3·0.25 + 2/3) / (7 − 2) = 0.28333…;
  // √(s_p² / 7) = 0.201187…; all seven items together: s² = 2/7, √(2/7 / 7) = 0.202031….
  const a = meanWithStderr([1, 0, 1, 1], 'a');
  const b = meanWithStderr([0, 0, 1], 'b');
  assert.ok(Math.abs(pooledStderr([a, b])! - Math.sqrt((0.75 + 2 / 3) / 5 / 7)) < 1e-12);
  assert.ok(Math.abs(pooledStderr([a, b])! - 0.2011869) < 1e-6);
  assert.ok(Math.abs(meanWithStderr([1, 0, 1, 1, 0, 0, 1], 'all').stderr! - 0.2020305) < 1e-6);
  assert.equal(pooledStderr([a, meanWithStderr([1], 'one')]), null);
});
