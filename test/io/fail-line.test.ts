// File-system and resource errors become one line naming the path; bugs do not; closed pipes
// are recognised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { isClosedPipe, resourceErrorLine } from '../../src/io/fail-line.ts';

const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail('did not throw');
};

test('resourceErrorLine: EEXIST, ENOENT, EACCES-like errors name the path and the code', () => {
  const e = thrown(() => mkdirSync('/proc/lethe-cannot-exist/x'));
  const line = resourceErrorLine(e)!;
  assert.match(line, /^\/proc\/lethe-cannot-exist\/x: cannot mkdir \(ENOENT: no such file or directory\)$/);
  const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/data/run/log.jsonl' });
  assert.equal(resourceErrorLine(full), '/data/run/log.jsonl: cannot write (ENOSPC: no space left on device)');
  assert.match(resourceErrorLine(thrown(() => new Float32Array(1e15)))!, /^out of range: /);
  assert.equal(resourceErrorLine(new TypeError('x is not a function')), null);
  assert.equal(resourceErrorLine('string'), null);
});

test('isClosedPipe', () => {
  assert.ok(isClosedPipe(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })));
  assert.ok(!isClosedPipe(Object.assign(new Error('x'), { code: 'ENOSPC' })));
  assert.ok(!isClosedPipe(null));
});
