import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LetheError } from '../../src/engine/errors.ts';
import { parseResults, readResults, RESULTS_SCHEMA } from '../../src/results/schema.ts';
import { INVALID_RESULTS, VALID_RUN, validResults } from '../report/example-runs.ts';

/** The error parseResults throws for `json`, as a message. */
function problem(json: unknown): string {
  try {
    parseResults(json, 'run/results.json');
  } catch (err) {
    assert.ok(err instanceof LetheError, `expected a LetheError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected the results to be rejected');
}

test('the valid fixture reads, keeping per-item values and extra benchmark keys', async () => {
  const r = await readResults(`${VALID_RUN}/results.json`);
  assert.equal(r.schema, RESULTS_SCHEMA);
  assert.equal(r.metrics.tofu.forgetQuality.value, 0.0123);
  assert.deepEqual(r.metrics.tofu.forgetProb.perItem, [0.18, 0.25, 0.2, 0.22, 0.215]);
  assert.equal(r.metrics.mia.referenceAuc.value, null);
  assert.match(r.metrics.mia.referenceAuc.unavailable!, /reference model/);
  assert.equal(r.benchmark.retainSplit, 'retain90');
  assert.equal(r.attacks?.relearn.recovered, 0.557);
  assert.equal(r.efficiency.peakRssMiB, 2310);
});

test('the invalid fixture is refused with the file and the field named', async () => {
  await assert.rejects(readResults(INVALID_RESULTS), (err: unknown) => {
    assert.ok(err instanceof LetheError);
    assert.ok(err.message.startsWith(`${INVALID_RESULTS}: `), err.message);
    assert.match(err.message, /metrics\.tofu\.forgetQuality\.value: .*expected number/);
    return true;
  });
});

test('a missing field is named and called missing', () => {
  const r = validResults() as Record<string, unknown> & { efficiency: Record<string, unknown> };
  delete r.efficiency.wallSeconds;
  assert.match(problem(r), /^run\/results\.json: efficiency\.wallSeconds: missing \(required\)$/);
});

test('a null value without a reason is refused: unavailable must say why', () => {
  const r = validResults();
  r.metrics.tofu.forgetQuality = { value: null };
  assert.match(problem(r), /metrics\.tofu\.forgetQuality\.unavailable: value is null but "unavailable" does not say why/);
});

test('per-item values, roles, benchmark names and dates are checked', () => {
  const perItem = validResults();
  (perItem.metrics.tofu.forgetProb.perItem as unknown[])[2] = 'x';
  assert.match(problem(perItem), /metrics\.tofu\.forgetProb\.perItem\[2\]: /);
  assert.match(problem({ ...validResults(), role: 'teacher' }), /role: /);
  assert.match(problem({ ...validResults(), benchmark: { name: 'wmdp' } }), /benchmark\.name: /);
  assert.match(problem({ ...validResults(), createdAt: 'yesterday' }), /createdAt: expected an ISO 8601 date-time/);
  assert.match(problem({ ...validResults(), attacks: { relearn: { before: {}, after: {} } } }), /attacks\.relearn\.recovered: missing/);
});

test('an unknown top-level key (a typo) is refused, not dropped', () => {
  assert.match(problem({ ...validResults(), metric: {} }), /\(top level\): Unrecognized key: "metric"/);
});

test('another schema version is refused before anything else', () => {
  assert.equal(problem({ ...validResults(), schema: 'lethe.results/2' }), 'run/results.json: schema: expected "lethe.results/1", got "lethe.results/2"');
  assert.match(problem({ model: {} }), /schema: expected "lethe.results\/1", got missing/);
  assert.match(problem([1]), /expected a JSON object/);
});

test('a missing or malformed file says so with its path', async () => {
  await assert.rejects(readResults('no/such/results.json'), /^LetheError: no\/such\/results\.json: file not found$/);
  await assert.rejects(readResults(`${VALID_RUN}/log.jsonl`), /log\.jsonl: not valid JSON/);
});
