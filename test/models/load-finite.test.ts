// Loading checks that every weight is finite and names the tensor (issue 13.8); the check can be
// turned off for very large models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../src/engine/errors.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { saveModel } from '../../src/models/save-model.ts';

test('a NaN or Inf weight stops loading with one line naming the tensor; checkFinite: false loads it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-finite-'));
  const model = createModel(presetConfig('tiny', { vocabSize: 64, maxPositions: 32 }), { seed: 1 });
  const clean = join(root, 'clean');
  await saveModel(model, clean);
  await loadModel(clean);
  for (const [value, shown] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity']] as const) {
    const name = 'model.layers.1.mlp.down_proj.weight';
    const w = model.params.get(name)!.data as Float32Array;
    const keep = w[7];
    w[7] = value;
    const dir = join(root, shown);
    await saveModel(model, dir);
    w[7] = keep;
    await assert.rejects(loadModel(dir), (e: unknown) => e instanceof LetheError && e.exitCode === 2 && e.message.startsWith(`${dir}: tensor "${name}" holds ${shown} (flat index `));
    const loaded = await loadModel(dir, { checkFinite: false });
    assert.equal((loaded.params.get(name)!.data as Float32Array).filter((v) => !Number.isFinite(v)).length, 1);
  }
});
