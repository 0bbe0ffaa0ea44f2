// Unlearning from a BF16 checkpoint kept at its precision (issue 15): the LoRA base and the frozen
// reference stay bfloat16 (one 16-bit copy, cast in the graph), what is trained is float32, and
// the result is bit-identical to the same run from the checkpoint widened to float32 on the host.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { LlamaConfig } from '../../src/models/formats/model-config.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { mergeLora } from '../../src/models/lora.ts';
import { createModel, widenWeight } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { unlearnBatches } from '../../src/unlearn/run.ts';
import type { ScopeOptions } from '../../src/unlearn/scope.ts';
import { tokenBatches } from '../helpers/token-batches.ts';

const V = 40;
const config: LlamaConfig = { ...(presetConfig('tiny', { vocabSize: V, maxPositions: 16 }) as LlamaConfig), hiddenSize: 16, numHeads: 2, numKvHeads: 1, headDim: 8, intermediateSize: 32 };
const dir = mkdtempSync(join(tmpdir(), 'lethe-half-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const batches = (n: number, seed: number) => tokenBatches(n, seed, V);
const data = { forget: batches(2, 1), retain: batches(2, 2) };
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

const scopes: [string, ScopeOptions][] = [
  ['LoRA', { kind: 'lora', r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] }],
  ['a name pattern', { kind: 'pattern', pattern: 'mlp\\.down_proj' }],
];

for (const [label, scope] of scopes) {
  test(`NPO with ${label} from a BF16 checkpoint: frozen weights stay bfloat16, the result equals the float32 run bit for bit`, async () => {
    const src = join(dir, 'bf16');
    await saveModel(createModel(config, { seed: 5, initStd: 0.2 }), src, { dtype: 'BF16' });
    const half = await loadModel(src, { precision: 'checkpoint' });
    const wide = await loadModel(src);
    const opts = { method: 'npo', scope, optimizer: { kind: 'adamw' as const, weightDecay: 0.01, maxGradNorm: 1 }, lr: 1e-2, batchSize: 2, epochs: 2, seed: 3 };
    const a = await unlearnBatches(half, data, { ...opts, runDir: join(dir, `${label}-half`) });
    const b = await unlearnBatches(wide, data, { ...opts, runDir: join(dir, `${label}-wide`) });
    let frozenHalf = 0;
    let moved = 0;
    const [ma, mb] = [mergeLora(a.model), mergeLora(b.model)];
    for (const v of a.model.params.values()) if (v.dtype === 'bfloat16') frozenHalf++;
    for (const [name, v] of ma.params) {
      const x = bits(widenWeight(v).data as Float32Array);
      const y = bits(mb.params.get(name)!.data as Float32Array);
      assert.deepEqual(x, y, name);
      const was = bits(widenWeight(half.params.get(name)!).data as Float32Array);
      if (x.some((u, i) => u !== was[i])) moved++;
    }
    assert.ok(frozenHalf > 0, 'no frozen weight stayed bfloat16');
    assert.ok(moved > 0, 'nothing moved');
    for (const t of half.params.values()) assert.equal(t.dtype, 'bfloat16'); // the input model is not modified
  });
}

test('a LoRA run checkpoints only the adapters and their optimiser state; resumed from such a checkpoint it ends equal to an uninterrupted run', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const src = join(dir, 'bf16-resume');
  await saveModel(createModel(config, { seed: 6, initStd: 0.2 }), src, { dtype: 'BF16' });
  const model = await loadModel(src, { precision: 'checkpoint' });
  const scope: ScopeOptions = { kind: 'lora', r: 2, alpha: 4, dropout: 0.1, targets: ['q_proj', 'v_proj'] };
  const opts = { method: 'npo', scope, optimizer: { kind: 'adamw' as const, weightDecay: 0.01, maxGradNorm: 1 }, lr: 1e-2, batchSize: 2, epochs: 3, seed: 3, checkpointEvery: 2 };
  const whole = await unlearnBatches(model, data, { ...opts, runDir: join(dir, 'whole') });
  const cut = join(dir, 'cut');
  await assert.rejects(unlearnBatches(model, data, { ...opts, runDir: cut, onProgress: (p) => { if (p.step === 3) throw new Error('killed'); } }), /killed/);
  const ckpts = readdirSync(join(cut, 'checkpoints'));
  assert.deepEqual(ckpts, ['step-000002']);
  const manifest = JSON.parse(readFileSync(join(cut, 'checkpoints', 'step-000002', 'meta.json'), 'utf8')).manifest.tensors as Record<string, unknown>;
  assert.ok(Object.keys(manifest).length > 0);
  for (const name of Object.keys(manifest)) assert.match(name, /\.lora_[AB]\.weight(\.[a-z_]+)?$/, `${name} is not an adapter or its optimiser state`);
  const resumed = await unlearnBatches(model, data, { ...opts, runDir: cut, resume: true });
  assert.equal(resumed.loop.resumedFrom, 2);
  for (const [name, v] of whole.model.params) assert.deepEqual(bits(widenWeight(resumed.model.params.get(name)!).data as Float32Array), bits(widenWeight(v).data as Float32Array), name);
});
