import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLog, readLog } from '../../src/report/log.ts';
import { VALID_RUN } from './example-runs.ts';

test('training lines and evaluation lines are told apart', async () => {
  const log = (await readLog(`${VALID_RUN}/log.jsonl`))!;
  assert.equal(log.train.length, 40);
  assert.equal(log.eval.length, 5);
  assert.deepEqual(log.train.map((l) => l.step).slice(0, 3), [1, 2, 3]);
  assert.equal(log.train[0].forgetLoss, 2.3821);
  assert.deepEqual(log.eval.map((l) => l.step), [1, 10, 20, 30, 40]);
  assert.equal(log.eval[1].eval.forgetProb, 0.621);
});

test('a NaN loss written as null is kept as null; extra keys are allowed', () => {
  const log = parseLog('{"step":1,"loss":null,"lr":0.001,"epoch":0}\n', 'log.jsonl');
  assert.equal(log.train[0].loss, null);
});

test('a truncated last line (killed run) is dropped; a bad line elsewhere is an error with its line', () => {
  const text = '{"step":1,"loss":1.5}\n{"step":2,"loss":1.4}\n{"step":3,"lo';
  assert.equal(parseLog(text, 'log.jsonl').train.length, 2);
  assert.throws(() => parseLog('{"step":1,"loss":1.5}\n{"step":2,\n{"step":3,"loss":1}\n', 'run/log.jsonl'), /^LetheError: run\/log\.jsonl:2: not valid JSON/);
  assert.throws(() => parseLog('{"step":1,"loss":"high"}\n', 'run/log.jsonl'), /run\/log\.jsonl:1: loss: /);
  assert.throws(() => parseLog('{"loss":1}\n', 'run/log.jsonl'), /run\/log\.jsonl:1: step: missing \(required\)/);
  assert.throws(() => parseLog('{"step":4,"eval":{"forgetProb":"x"}}\n', 'run/log.jsonl'), /run\/log\.jsonl:1: eval\.forgetProb: /);
});

test('a run without a log gives undefined, not an error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-log-'));
  try {
    assert.equal(await readLog(join(dir, 'log.jsonl')), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
