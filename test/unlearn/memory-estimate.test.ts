// The peak-memory estimate (unlearn/memory-estimate.ts) against the measured peak resident memory
// (VmHWM) of real NPO runs in child processes, for two shapes of the tiny preset; and a run the
// estimate says cannot fit is refused by `lethe unlearn` with one line, before anything is written.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { forgetFile, lethe, tinyModelDir } from '../helpers/tiny-model.ts';

const CHILD = fileURLToPath(new URL('./memory-estimate-child.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lethe-memest-'));
after(() => rmSync(root, { recursive: true, force: true }));
const linux = existsSync('/proc/self/status');

for (const [vocab, batch, seq, scope] of [[16000, 16, 64, 'all'], [4096, 8, 256, 'lora']] as const) {
  test(`the estimate is within 25% of the measured peak: tiny preset, vocab ${vocab}, batch ${batch} × ${seq}, scope ${scope}`, { skip: !linux && 'needs /proc' }, () => {
    // The malloc setting `lethe` runs with (bin/lethe.js), which the estimate is fitted to.
    const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' };
    const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, String(vocab), String(batch), String(seq), scope, join(root, `run-${vocab}`)], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    const { peak, estimate } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { peak: number; estimate: number };
    assert.ok(peak > 300 * 2 ** 20, `the run should be large enough to measure: peak ${peak}`);
    const ratio = estimate / peak;
    assert.ok(ratio > 0.75 && ratio < 1.25, `estimate ${(estimate / 2 ** 20).toFixed(0)} MiB vs measured ${(peak / 2 ** 20).toFixed(0)} MiB (${ratio.toFixed(2)})`);
  });
}

before(async () => {
  await tinyModelDir(join(root, 'model'));
  forgetFile(join(root, 'f.jsonl'), 4);
});

test('a run estimated not to fit is refused (exit 2, one line: estimate, limit, what to change) and writes nothing', () => {
  const r = lethe(root, 'unlearn', '--model', 'model', '--method', 'ga', '--forget', 'f.jsonl', '--batch-size', '2', '--max-memory', '0.05', '--out', 'run');
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /this run needs about 0\.\d\d GB \(weights .* GB, training state .* GB, activations .* GB, runtime .* GB\) at peak, more than the 0\.05 GB of --max-memory; try a smaller --batch-size, --scope lora, --gradient-checkpointing, a shorter --context-length/);
  assert.equal(existsSync(join(root, 'run')), false);
  // With room, the same run starts and says its estimate.
  const ok = lethe(root, 'unlearn', '--model', 'model', '--method', 'ga', '--forget', 'f.jsonl', '--batch-size', '2', '--epochs', '1', '--max-memory', '64', '--out', 'run');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /memory estimate 0\.\d\d GB .* at peak; 64\.0 GB of --max-memory/);
});
