// RoPE scaling (llama3, linear, dynamic NTK, YaRN, Phi-3 longrope) and the decoders beyond Llama
// (Qwen 3, OLMo 2, Gemma, Gemma 2, Gemma 3 text, Phi-3) against the plain-PyTorch references of
// scripts/make-model-fixtures.py: logits, loss and every parameter's gradient; then saved and
// loaded back with the same Hugging Face tensor names, bytes and config.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '../../src/models/formats/config.ts';
import { readSafetensors } from '../../src/models/formats/safetensors.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { compareGrads, evaluate, fixtureDir, golden, maxAbsDiff } from './golden.ts';

const CASES = ['rope-llama3', 'rope-linear', 'rope-dynamic', 'rope-yarn', 'phi3', 'qwen3', 'olmo2', 'gemma', 'gemma2', 'gemma3'];

for (const name of CASES) {
  test(`${name} fixture: logits within 1e-4, loss within 1e-5, every gradient within 1e-3 relative`, async (t) => {
    const model = await loadModel(fixtureDir(name));
    const gold = await golden(name);
    const { logits, loss, grads } = await evaluate(model, gold.get('input_ids')!, true);
    assert.deepEqual(logits.shape, [2, 12, 96]);
    const dLogits = maxAbsDiff(logits, gold.get('logits')!);
    const { checked, failures, worst } = compareGrads(model, grads, gold);
    t.diagnostic(`${name}: max |Δ logits| ${dLogits.toExponential(2)}, worst gradient max|Δ|/max|golden| ${worst.toExponential(2)}`);
    assert.ok(dLogits <= 1e-4, `max |Δ logits| = ${dLogits}`);
    assert.ok(Math.abs(loss - Number(gold.get('loss')!.data[0])) <= 1e-5, `loss ${loss} vs ${gold.get('loss')!.data[0]}`);
    assert.equal(checked, model.params.size);
    assert.deepEqual(failures, []);
  });
}

test('the fixtures exercise what they claim: scaled RoPE and variants change the logits', async () => {
  // Same weights, the scaling removed: the logits move (so the golden could not pass without it).
  for (const name of ['rope-llama3', 'rope-linear', 'rope-dynamic', 'rope-yarn', 'phi3']) {
    const model = await loadModel(fixtureDir(name));
    const gold = await golden(name);
    const plain = new (model.constructor as typeof import('../../src/models/model.ts').Model)({ ...model.config, ropeScaling: null }, model.params);
    const d = maxAbsDiff((await evaluate(plain, gold.get('input_ids')!)).logits, gold.get('logits')!);
    assert.ok(d > 1e-2, `${name}: without its scaling the logits move by only ${d}`);
  }
});

for (const name of CASES) {
  test(`${name}: load(save(model)) keeps the HF tensor names and bytes, the config, and the logits`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'lethe-family-'));
    try {
      const model = await loadModel(fixtureDir(name));
      const out = join(root, 'saved');
      await saveModel(model, out);
      const saved = await readSafetensors(join(out, 'model.safetensors'));
      const original = await readSafetensors(join(fixtureDir(name), 'model.safetensors'));
      assert.deepEqual([...saved.keys()].sort(), [...original.keys()].sort());
      assert.ok(readFileSync(join(out, 'model.safetensors')).equals(readFileSync(join(fixtureDir(name), 'model.safetensors'))));
      assert.deepEqual(await readConfig(out), await readConfig(fixtureDir(name)));
      const hf = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      const src = JSON.parse(readFileSync(join(fixtureDir(name), 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(hf.rope_scaling, src.rope_scaling);
      assert.equal(hf.max_position_embeddings, src.max_position_embeddings);
      const again = await loadModel(out);
      const ids = (await golden(name)).get('input_ids')!;
      assert.equal(maxAbsDiff((await evaluate(again, ids)).logits, (await evaluate(model, ids)).logits), 0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
