// ONNX Runtime's own logging stays off stderr: an out-of-range Gather (a token id beyond a tiny
// model's vocabulary) comes back as one LetheError naming the index and the table size, and
// nothing else reaches stderr, unless LETHE_DEBUG=1 asks for ONNX Runtime's log.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./ort-logging-child.ts', import.meta.url));

function runChild(env: Record<string, string | undefined>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD], { encoding: 'utf8', env: { ...process.env, LETHE_DEBUG: undefined, ...env } });
  assert.equal(r.status, 0, r.stderr);
  const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: number[]; error: { name: string; message: string } | null };
  return { ...line, stderr: r.stderr };
}

test('an out-of-range Gather is one LetheError and ONNX Runtime prints nothing on stderr', () => {
  const r = runChild({});
  assert.deepEqual(r.ok, [1, 3, 32]);
  assert.equal(r.error?.name, 'LetheError');
  assert.match(r.error!.message, /index 298 is out of range for a table of 32 rows \(Gather node [^)]+\); in an embedding this is a token id beyond the model's vocabulary of 32/);
  assert.equal(r.stderr, '');
});

test('LETHE_DEBUG=1 lets ONNX Runtime\'s own error log through (so the quiet default is a setting, not luck)', () => {
  const r = runChild({ LETHE_DEBUG: '1' });
  assert.equal(r.error?.name, 'LetheError');
  assert.match(r.stderr, /onnxruntime.*Gather.*idx=298/);
});
