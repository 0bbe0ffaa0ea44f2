// The multiple-choice additions to lethe.results/1: an optional `multipleChoice` record and the
// `mc` and `qa` benchmark names. Older files (without them) still read; a bad set record is
// refused naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LetheError } from '../../src/engine/errors.ts';
import { parseResults } from '../../src/results/schema.ts';
import { validResults } from '../report/example-runs.ts';

const accuracy = { value: 0.5, stderr: 0.2887, interval: { lower: 0, upper: 1, level: 0.95, method: 'percentile bootstrap', resamples: 1000, seed: 0 }, perItem: [1, 0, 1, 0] };
const set = { side: 'forget', name: 'wmdp-bio.jsonl', file: 'wmdp-bio.jsonl', pooled: false, items: 4, chance: 0.25, acc: accuracy, accNorm: accuracy, accBytes: accuracy, tokenisationMismatches: 0 };

test('a results file without multipleChoice (written before it existed) still reads', () => {
  const r = parseResults(validResults(), 'old.json');
  assert.equal(r.multipleChoice, undefined);
});

test('a results file with multipleChoice sets reads back as written', () => {
  const json = { ...(validResults() as object), benchmark: { name: 'mc', forgetMc: ['wmdp-bio.jsonl'] }, multipleChoice: { style: 'default', numFewshot: 0, template: 'plain', sets: [set, { ...set, name: 'forget (pooled)', pooled: true, file: undefined, acc: { ...accuracy, stderr: null, stderrUnavailable: 'one item', interval: { unavailable: 'one item' } } }] } };
  const r = parseResults(JSON.parse(JSON.stringify(json)), 'mc.json');
  assert.equal(r.benchmark.name, 'mc');
  assert.deepEqual(r.multipleChoice!.sets[0], set);
  assert.equal(r.multipleChoice!.sets[1].acc.stderr, null);
});

test('a set record without its standard error is refused, the field named', () => {
  const { stderr: _dropped, ...noStderr } = accuracy;
  const json = { ...(validResults() as object), multipleChoice: { style: 'default', numFewshot: 0, template: 'plain', sets: [{ ...set, acc: noStderr }] } };
  assert.throws(() => parseResults(json, 'bad.json'), (err: unknown) => err instanceof LetheError && /^bad\.json: multipleChoice\.sets\[0\]\.acc\.stderr: /.test(err.message));
});
