// The Llama family against the PyTorch golden fixtures: Llama with GQA, the same weights stored
// F16/BF16/sharded, SmolLM-like tied Llama, Qwen2 (q/k/v biases), Mistral, and llama2.c files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/models/load-model.ts';
import { compareGrads, evaluate, fixtureDir, golden, maxAbsDiff } from './golden.ts';

const HF_CASES = ['llama-gqa', 'llama-gqa-f16', 'llama-gqa-bf16', 'llama-gqa-sharded', 'llama-tied', 'qwen2', 'mistral'];

for (const name of HF_CASES) {
  test(`${name} fixture: logits within 1e-4, loss within 1e-5, every gradient within 1e-3 relative`, async () => {
    const model = await loadModel(fixtureDir(name));
    const gold = await golden(name);
    const { logits, loss, grads } = await evaluate(model, gold.get('input_ids')!, true);
    assert.deepEqual(logits.shape, [2, 12, 96]);
    const dLogits = maxAbsDiff(logits, gold.get('logits')!);
    assert.ok(dLogits <= 1e-4, `max |Δ logits| = ${dLogits}`);
    assert.ok(Math.abs(loss - Number(gold.get('loss')!.data[0])) <= 1e-5, `loss ${loss} vs ${gold.get('loss')!.data[0]}`);
    const { checked, failures } = compareGrads(model, grads, gold);
    assert.equal(checked, model.params.size);
    assert.deepEqual(failures, []);
  });
}

for (const name of ['llama2c-shared', 'llama2c-unshared']) {
  test(`${name} fixture: logits within 1e-4 and loss within 1e-5 (model.bin read as an HF Llama)`, async () => {
    const model = await loadModel(`${fixtureDir(name)}/model.bin`);
    const gold = await golden(name);
    const { logits, loss } = await evaluate(model, gold.get('input_ids')!, true);
    const dLogits = maxAbsDiff(logits, gold.get('logits')!);
    assert.ok(dLogits <= 1e-4, `max |Δ logits| = ${dLogits}`);
    assert.ok(Math.abs(loss - Number(gold.get('loss')!.data[0])) <= 1e-5, `loss ${loss}`);
    assert.equal(model.config.tieWordEmbeddings, name === 'llama2c-shared');
  });
}
