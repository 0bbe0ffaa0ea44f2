import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type LlamaConfig } from '../../../src/models/formats/config.ts';
import { checkTensorShapes, expectedTensorShapes, normaliseTensorNames } from '../../../src/models/formats/tensor-shapes.ts';
import { assertLetheError } from './safetensors-bytes.ts';

const gpt2 = parseConfig({ model_type: 'gpt2', vocab_size: 11, n_embd: 8, n_layer: 2, n_head: 2, n_positions: 5 }, 'c');
const llama = parseConfig(
  { model_type: 'llama', vocab_size: 11, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 16 },
  'c',
) as LlamaConfig;
const shapes = (m: Map<string, number[]>) => new Map([...m].map(([name, shape]) => [name, { shape }]));

test('GPT-2 shapes: Conv1D weights [in, out], 12 tensors per layer, tied head absent', () => {
  const s = expectedTensorShapes(gpt2);
  assert.equal(s.size, 2 + 12 * 2 + 2);
  assert.deepEqual(s.get('transformer.wte.weight'), [11, 8]);
  assert.deepEqual(s.get('transformer.wpe.weight'), [5, 8]);
  assert.deepEqual(s.get('transformer.h.1.attn.c_attn.weight'), [8, 24]);
  assert.deepEqual(s.get('transformer.h.1.attn.c_attn.bias'), [24]);
  assert.deepEqual(s.get('transformer.h.0.mlp.c_fc.weight'), [8, 32]);
  assert.deepEqual(s.get('transformer.h.0.mlp.c_proj.weight'), [32, 8]);
  assert.equal(s.has('lm_head.weight'), false);
  assert.deepEqual(expectedTensorShapes({ ...gpt2, tieWordEmbeddings: false }).get('lm_head.weight'), [11, 8]);
});

test('Llama shapes: [out, in] projections, GQA k/v width, optional biases and head', () => {
  assert.equal(llama.family, 'llama');
  const s = expectedTensorShapes(llama);
  assert.equal(s.size, 1 + 9 * 2 + 1 + 1);
  assert.deepEqual(s.get('model.layers.0.self_attn.q_proj.weight'), [8, 8]);
  assert.deepEqual(s.get('model.layers.0.self_attn.k_proj.weight'), [4, 8]); // 2 KV heads × head_dim 2
  assert.deepEqual(s.get('model.layers.1.self_attn.o_proj.weight'), [8, 8]);
  assert.deepEqual(s.get('model.layers.1.mlp.down_proj.weight'), [8, 12]);
  assert.deepEqual(s.get('lm_head.weight'), [11, 8]);
  const qwen = expectedTensorShapes({ ...llama, modelType: 'qwen2', qkvBias: true, tieWordEmbeddings: true });
  assert.deepEqual(qwen.get('model.layers.0.self_attn.k_proj.bias'), [4]);
  assert.equal(qwen.has('model.layers.0.self_attn.o_proj.bias'), false);
  assert.equal(qwen.has('lm_head.weight'), false);
  const wide = expectedTensorShapes({ ...llama, headDim: 4, outBias: true, mlpBias: true });
  assert.deepEqual(wide.get('model.layers.0.self_attn.q_proj.weight'), [16, 8]); // head_dim given explicitly
  assert.deepEqual(wide.get('model.layers.0.self_attn.o_proj.weight'), [8, 16]);
  assert.deepEqual(wide.get('model.layers.0.mlp.gate_proj.bias'), [12]);
});

test('normaliseTensorNames: bare GPT-2 names get the prefix, mask buffers and tied heads are dropped', () => {
  const bare = new Map<string, number>([
    ['wte.weight', 1], ['h.0.attn.bias', 2], ['h.0.attn.masked_bias', 3], ['h.0.attn.c_attn.bias', 4], ['transformer.ln_f.weight', 5], ['lm_head.weight', 6],
  ]);
  assert.deepEqual([...normaliseTensorNames(gpt2, bare)], [['transformer.wte.weight', 1], ['transformer.h.0.attn.c_attn.bias', 4], ['transformer.ln_f.weight', 5]]);
  const untied = normaliseTensorNames({ ...gpt2, tieWordEmbeddings: false }, bare);
  assert.equal(untied.get('lm_head.weight'), 6);
  assertLetheError(() => normaliseTensorNames(gpt2, new Map([['wte.weight', 1], ['transformer.wte.weight', 2]]), 'x.safetensors'), 'x.safetensors', /both with and without/);
  const rope = normaliseTensorNames(llama, new Map([['model.layers.0.self_attn.rotary_emb.inv_freq', 1], ['model.norm.weight', 2]]));
  assert.deepEqual([...rope.keys()], ['model.norm.weight']);
});

test('checkTensorShapes accepts exact sets, bare GPT-2 names and a tied head that fits', () => {
  checkTensorShapes(llama, shapes(expectedTensorShapes(llama)), 'model.safetensors');
  const bareGpt2 = new Map([...expectedTensorShapes(gpt2)].map(([n, shape]) => [n.replace(/^transformer\./, ''), { shape }]));
  bareGpt2.set('h.1.attn.bias', { shape: [1, 1, 5, 5] });
  bareGpt2.set('lm_head.weight', { shape: [11, 8] });
  checkTensorShapes(gpt2, bareGpt2, 'model.safetensors');
});

test('checkTensorShapes names missing, unexpected and mis-shaped tensors with both shapes', () => {
  const file = 'dir/model.safetensors';
  const missing = shapes(expectedTensorShapes(llama));
  missing.delete('model.norm.weight');
  assertLetheError(() => checkTensorShapes(llama, missing, file), file, /a tensor disagrees with config.json \(llama\): missing model.norm.weight \[8\]$/);
  const extra = shapes(expectedTensorShapes(llama));
  extra.set('model.layers.2.mlp.up_proj.weight', { shape: [12, 8] });
  assertLetheError(() => checkTensorShapes(llama, extra, file), file, /unexpected tensor model.layers.2.mlp.up_proj.weight \[12, 8\]/);
  const wrong = shapes(expectedTensorShapes(llama));
  wrong.set('model.layers.0.self_attn.k_proj.weight', { shape: [8, 8] });
  assertLetheError(() => checkTensorShapes(llama, wrong, file), file, /model.layers.0.self_attn.k_proj.weight: config.json implies \[4, 8\], found \[8, 8\]/);
  const tied = shapes(expectedTensorShapes(gpt2));
  tied.set('lm_head.weight', { shape: [8, 11] });
  assertLetheError(() => checkTensorShapes(gpt2, tied, file), file, /lm_head.weight: config.json implies \[11, 8\], found \[8, 11\]/);
  const many = shapes(expectedTensorShapes(llama));
  for (let i = 0; i < 14; i++) many.set(`junk.${i}`, { shape: [i] });
  assertLetheError(() => checkTensorShapes(llama, many, file), file, /14 tensors disagree.*; and 4 more$/);
});
