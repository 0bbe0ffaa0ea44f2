// Fine-tuning a LoRA model (what the relearning attacks do to a LoRA unlearning result) returns a
// model that still applies its adapters: found by a newcomer running the demo, whose npo-lora
// "after relearn" value had become that of the base model relearned without them.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { plainTemplate } from '../../src/data/templates.ts';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { applyLora } from '../../src/models/lora.ts';
import { createModel, Model } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { trainTokenizer } from '../../src/models/tokenizer/train-tokenizer.ts';
import { finetune } from '../../src/unlearn/finetune.ts';

const root = mkdtempSync(join(tmpdir(), 'lethe-finetune-lora-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function logits(model: Model, ids: number[]): Promise<Float32Array> {
  const g = new Graph();
  const x = g.input('input_ids', 'int64', [1, ids.length]);
  const out = model.forward(g, x);
  const program = compile([x, ...out.params.values()], { logits: out.logits });
  const r = await program.run({ input_ids: { dtype: 'int64', shape: [1, ids.length], data: BigInt64Array.from(ids, BigInt) }, ...model.feeds() });
  await program.dispose();
  return r.logits.data as Float32Array;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('fine-tuning a LoRA model keeps its adapters in the forward pass of the result', async () => {
  const template = plainTemplate();
  const data = ['the cat sat on the mat', 'a dog ran in the park', 'the bird sang a song'].map((t) => template.pair('Q:', ` ${t}`));
  const tokenizer = trainTokenizer(data.map((p) => p.prompt + p.target), { vocabSize: 300 });
  const config = presetConfig('tiny', { vocabSize: tokenizer.vocabSize, eosTokenId: tokenizer.eosId ?? null, maxPositions: 64 });
  const lora = applyLora(createModel(config, { seed: 3 }), { r: 2, alpha: 4, dropout: 0 });
  // Adapters that change the output (PEFT starts B at zero).
  for (const [n, t] of lora.params) if (n.endsWith('lora_B.weight')) (t.data as Float32Array).forEach((_, i, a) => (a[i] = 0.05 * ((i % 7) - 3)));
  const ids = tokenizer.encode('the cat ran in the park');
  const before = await logits(lora, ids);
  const withoutAdapters = await logits(new Model(lora.config, lora.params, null), ids);
  assert.ok(maxDiff(before, withoutAdapters) > 1e-2, 'the adapters must matter for this test to tell');

  // A learning rate small enough that the weights barely move: the result must compute as the input did.
  const run = await finetune(lora, tokenizer, { data, template, lr: 1e-9, optimizer: { kind: 'adamw', weightDecay: 0 }, epochs: 1, batchSize: 3, runDir: join(root, 'run') });
  assert.deepEqual(run.model.lora, lora.lora);
  const now = await logits(run.model, ids);
  assert.ok(maxDiff(now, before) < 1e-4, `the result computes without its adapters: logits moved by ${maxDiff(now, before)}`);
});
