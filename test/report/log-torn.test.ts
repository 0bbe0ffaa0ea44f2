// A cut last line of log.jsonl (kill or full disk during the append) is dropped, with or without
// the newline after it; a bad line before the last is still an error naming the line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LetheError } from '../../src/engine/errors.ts';
import { parseLog } from '../../src/report/log.ts';

const good = '{"step":1,"loss":0.5}\n{"step":2,"loss":0.4}\n';

test('a torn last line is dropped, also when followed by a newline or blank lines', () => {
  for (const tail of ['{"step":3,"lo', '{"step":3,"lo\n', '{"step":3,"lo\n\n  \n']) {
    assert.deepEqual(parseLog(good + tail, 'log.jsonl').train.map((l) => l.step), [1, 2]);
  }
});

test('a bad line in the middle is one LetheError naming file and line', () => {
  assert.throws(() => parseLog('{"step":1,"loss":0.5}\n{"st\n{"step":3,"loss":0.4}\n', 'run/log.jsonl'), (e: unknown) => e instanceof LetheError && /^run\/log\.jsonl:2: not valid JSON/.test(e.message));
});
