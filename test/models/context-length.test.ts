// --context-length above the model's positions is refused by name, in the library and in every
// command, before anything is written (it used to fail later inside a gather, or pass unnoticed
// when the data happened to be short).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../src/engine/errors.ts';
import { resolveContextLength } from '../../src/models/model.ts';
import { forgetFile, lethe, tinyModelDir } from '../helpers/tiny-model.ts';

test('resolveContextLength: the model maximum by default, the request when it fits, a named refusal beyond it', () => {
  assert.equal(resolveContextLength({ maxPositions: 128 }), 128);
  assert.equal(resolveContextLength({ maxPositions: 128 }, 64), 64);
  assert.equal(resolveContextLength({ maxPositions: 128 }, 128), 128);
  assert.throws(() => resolveContextLength({ maxPositions: 128 }, 129), (e: unknown) => e instanceof LetheError && /--context-length 129: longer than the model's maximum of 128 positions/.test(e.message));
  assert.throws(() => resolveContextLength({ maxPositions: 128 }, 1.5), LetheError);
  assert.throws(() => resolveContextLength({ maxPositions: 128 }, 1), LetheError);
});

test('lethe unlearn and lethe eval: --context-length above the model maximum exits 2 naming both numbers, writing nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-ctx-'));
  const model = await tinyModelDir(join(dir, 'model')); // maxPositions 128
  const forget = forgetFile(join(dir, 'forget.jsonl'), 4);
  const u = lethe(dir, 'unlearn', '--method', 'ga', '--model', model, '--forget', forget, '--context-length', '4096', '--epochs', '1', '--out', 'u');
  assert.equal(u.status, 2, u.stderr);
  assert.match(u.stderr, /--context-length 4096: longer than the model's maximum of 128 positions/);
  assert.equal(u.stderr.trim().split('\n').length, 1, u.stderr);
  assert.equal(existsSync(join(dir, 'u', 'model')), false);
  const e = lethe(dir, 'eval', '--benchmark', 'tofu', '--model', model, '--tofu-authors', '3', '--forget-authors', '1', '--context-length', '4096', '--out', 'e');
  assert.equal(e.status, 2, e.stderr);
  assert.match(e.stderr, /longer than the model's maximum of 128 positions/);
  assert.equal(existsSync(join(dir, 'e', 'results.json')), false);
});
