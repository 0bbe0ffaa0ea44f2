// Loading a checkpoint must not hold two copies of the weights at once: the peak resident memory
// of a fresh process loading a model stays near the float32 parameters it ends with (it was about
// 1.75× for BF16 and F32 checkpoints alike, issue 15). Measured in a child process (Linux /proc).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { saveModel } from '../../src/models/save-model.ts';

const CHILD = fileURLToPath(new URL('./load-memory-child.ts', import.meta.url));

// ~15.6M parameters (62 MB as float32), untied head: most bytes are linear weights, which loading transposes.
const config = { ...presetConfig('tiny', { vocabSize: 4096 }), hiddenSize: 512, numHeads: 8, numKvHeads: 2, headDim: 64, intermediateSize: 1408, numLayers: 4, tieWordEmbeddings: false };

for (const dtype of ['BF16', 'F32'] as const) {
  test(`loading a ${dtype} checkpoint peaks below 1.25× the float32 weights it holds`, { skip: !existsSync('/proc/self/status') && 'needs /proc' }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'lethe-loadmem-'));
    try {
      const dir = join(root, 'model');
      await saveModel(createModel(config, { seed: 3 }), dir, { dtype });
      const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, dir], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const { before, peak, held } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { before: number; peak: number; held: number };
      assert.ok(held > 60e6, `model holds ${held} bytes`);
      const growth = (peak - before) / held;
      assert.ok(growth < 1.25, `peak grew by ${growth.toFixed(2)}× the weights (${peak - before} bytes for ${held})`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
