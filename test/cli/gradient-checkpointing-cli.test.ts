// `--gradient-checkpointing` from the command line: recorded in the run's config.yaml, and a run
// may be resumed with it (after running out of memory) or without it, since it changes how a
// step is computed and not what it computes; the weights equal those of a run without it up to
// float32 rounding.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readSafetensorsSync } from '../../src/models/formats/safetensors.ts';
import { forgetFile, lethe, tinyModelDir } from '../helpers/tiny-model.ts';

const root = mkdtempSync(join(tmpdir(), 'lethe-gc-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
before(async () => {
  await tinyModelDir(join(root, 'model'));
  forgetFile(join(root, 'f.jsonl'), 4);
});

test('--gradient-checkpointing is recorded, resumes either way, and gives the weights of a run without it', () => {
  const common = ['unlearn', '--model', 'model', '--method', 'ga', '--forget', 'f.jsonl', '--batch-size', '2', '--checkpoint-every', '1'];
  const plain = lethe(root, ...common, '--epochs', '2', '--out', 'plain');
  assert.equal(plain.status, 0, plain.stderr);
  const first = lethe(root, ...common, '--epochs', '2', '--gradient-checkpointing', '--out', 'ckpt');
  assert.equal(first.status, 0, first.stderr);
  assert.match(readFileSync(join(root, 'ckpt', 'config.yaml'), 'utf8'), /gradientCheckpointing: true/);
  // Resumed without the flag, and the plain run with it: neither is refused as a different run.
  for (const [out, flag] of [['ckpt', []], ['plain', ['--gradient-checkpointing']]] as const) {
    const again = lethe(root, ...common, '--epochs', '2', '--resume', ...flag, '--out', out);
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /but this run asks/);
  }
  const weights = (run: string) => readSafetensorsSync(join(root, run, 'model', 'model.safetensors'));
  const [plainW, ckptW] = [weights('plain'), weights('ckpt')];
  let worst = 0;
  for (const [n, t] of plainW) {
    const a = t.data as Float32Array;
    const b = ckptW.get(n)!.data as Float32Array;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(a[i])));
  }
  // Equal up to float32 rounding: the graphs differ, so ONNX Runtime fuses some ops differently
  // (measured: 1.1e-7 relative at most; a wrong recomputation is off by far more).
  assert.ok(worst < 1e-5, `the weights differ from the run without checkpointing by ${worst} (relative)`);
});
