// GPT-2 against the PyTorch golden fixture: logits, next-token loss and every gradient.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/models/load-model.ts';
import { compareGrads, evaluate, fixtureDir, golden, maxAbsDiff } from './golden.ts';

test('gpt2 fixture: logits within 1e-4, loss within 1e-5, every gradient within 1e-3 relative', async () => {
  const model = await loadModel(fixtureDir('gpt2'));
  const gold = await golden('gpt2');
  const { logits, loss, grads } = await evaluate(model, gold.get('input_ids')!, true);
  assert.deepEqual(logits.shape, [2, 12, 96]);
  const dLogits = maxAbsDiff(logits, gold.get('logits')!);
  assert.ok(dLogits <= 1e-4, `max |Δ logits| = ${dLogits}`);
  assert.ok(Math.abs(loss - Number(gold.get('loss')!.data[0])) <= 1e-5, `loss ${loss} vs ${gold.get('loss')!.data[0]}`);
  const { checked, failures } = compareGrads(model, grads, gold);
  assert.equal(checked, 2 + 12 * 2 + 2); // wte (with the tied head), wpe, 12 per block, ln_f
  assert.deepEqual(failures, []);
});
