import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, readConfig, toHfConfig, writeConfig, type LlamaConfig, type ModelConfig } from '../../../src/models/formats/config.ts';
import { assertLetheError, assertRejectsLethe } from './safetensors-bytes.ts';

const gpt2 = {
  model_type: 'gpt2', vocab_size: 50257, n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024,
  layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', bos_token_id: 50256, eos_token_id: 50256,
};
// SmolLM-135M's config.json (the fields that matter): a Llama with a tied head and GQA.
const smollm = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 576, intermediate_size: 1536,
  num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, rms_norm_eps: 1e-5, rope_theta: 10000,
  max_position_embeddings: 2048, vocab_size: 49152, tie_word_embeddings: true, hidden_act: 'silu',
  attention_bias: false, mlp_bias: false, rope_scaling: null, bos_token_id: 0, eos_token_id: 0, torch_dtype: 'bfloat16',
};

test('GPT-2: sizes, defaults (4d MLP, tied head) and the tanh GELU', () => {
  const c = parseConfig(gpt2, 'config.json');
  assert.deepEqual(c, {
    family: 'gpt2', modelType: 'gpt2', vocabSize: 50257, hiddenSize: 768, numLayers: 12, numHeads: 12, numKvHeads: 12,
    headDim: 64, intermediateSize: 3072, maxPositions: 1024, normEps: 1e-5, tieWordEmbeddings: true, qkvBias: true,
    outBias: true, mlpBias: true, activation: 'gelu_tanh', bosTokenId: 50256, eosTokenId: 50256,
  });
  assert.equal(parseConfig({ ...gpt2, n_inner: 1000, tie_word_embeddings: false }, 'c').intermediateSize, 1000);
  assert.equal(parseConfig({ ...gpt2, activation_function: undefined }, 'c').activation, 'gelu_tanh');
});

test('Llama family: SmolLM (llama), defaults for absent keys, Qwen2 biases, Mistral window', () => {
  const c = parseConfig(smollm, 'config.json');
  assert.equal(c.family, 'llama');
  assert.deepEqual(
    [c.hiddenSize, c.numHeads, c.numKvHeads, c.headDim, c.intermediateSize, c.tieWordEmbeddings, c.normEps, c.bosTokenId],
    [576, 9, 3, 64, 1536, true, 1e-5, 0],
  );
  const minimal = { model_type: 'llama', vocab_size: 10, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 4, max_position_embeddings: 8 };
  const d = parseConfig(minimal, 'c');
  assert.ok(d.family === 'llama');
  assert.deepEqual(
    [d.numKvHeads, d.headDim, d.ropeTheta, d.normEps, d.tieWordEmbeddings, d.activation, d.qkvBias, d.slidingWindow, d.bosTokenId, d.eosTokenId],
    [4, 4, 10000, 1e-6, false, 'silu', false, null, null, null],
  );
  assert.equal(parseConfig({ ...minimal, head_dim: 6 }, 'c').headDim, 6);
  const llamaBias = parseConfig({ ...minimal, attention_bias: true, mlp_bias: true }, 'c');
  assert.deepEqual([llamaBias.qkvBias, llamaBias.outBias, llamaBias.mlpBias], [true, true, true]);
  const qwen = parseConfig({ ...minimal, model_type: 'qwen2', attention_bias: false, rope_theta: 1e6 }, 'c');
  assert.deepEqual([qwen.qkvBias, qwen.outBias, qwen.mlpBias], [true, false, false]); // Qwen2 always has q/k/v biases
  assert.ok(qwen.family === 'llama' && qwen.ropeTheta === 1e6);
  const mistral = parseConfig({ ...minimal, model_type: 'mistral' }, 'c');
  assert.ok(mistral.family === 'llama' && mistral.slidingWindow === 4096); // MistralConfig's default
  const noWindow = parseConfig({ ...minimal, model_type: 'mistral', sliding_window: null }, 'c');
  assert.ok(noWindow.family === 'llama' && noWindow.slidingWindow === null);
  assert.deepEqual(parseConfig({ ...minimal, eos_token_id: [2, 7] }, 'c').eosTokenId, [2, 7]);
});

test('errors name the file and the field', () => {
  const llama = { ...smollm };
  const cases: [unknown, RegExp][] = [
    [{ ...llama, num_attention_heads: 0 }, /^my\/config.json: num_attention_heads: expected a positive integer$/],
    [{ ...llama, num_attention_heads: 2.5 }, /num_attention_heads: expected a positive integer/],
    [{ ...llama, hidden_size: undefined }, /hidden_size: missing \(required\)/],
    [{ ...llama, rms_norm_eps: '1e-5' }, /rms_norm_eps: expected a positive number/],
    [{ ...llama, tie_word_embeddings: 'yes' }, /tie_word_embeddings: expected true or false/],
    [{ ...llama, num_key_value_heads: 2 }, /num_key_value_heads: must divide num_attention_heads \(9\)/],
    [{ ...llama, hidden_size: 580 }, /num_attention_heads: must divide hidden_size \(580\)/],
    [{ ...llama, head_dim: 63 }, /head_dim: head dimension 63 must be even for RoPE/],
    [{ ...llama, rope_scaling: { rope_type: 'llama3', factor: 8 } }, /rope_scaling.low_freq_factor: expected a positive number \(missing\)/],
    [{ ...llama, rope_scaling: { rope_type: 'mrope', factor: 8 } }, /rope_scaling.rope_type: "mrope" is not supported \(supported: default, linear, dynamic, yarn, longrope, su, llama3\)/],
    [{ ...llama, rope_scaling: { type: 'ntk', factor: 8 } }, /rope_scaling.rope_type: "ntk" is not supported/],
    [{ ...llama, rope_scaling: { factor: 8 } }, /rope_scaling.rope_type: missing/],
    [{ ...llama, rope_scaling: { rope_type: 'longrope', short_factor: [1], long_factor: [1] } }, /rope_scaling.short_factor: expected 32 positive numbers/],
    [{ ...llama, max_position_embeddings: 1e12 }, /max_position_embeddings: expected at most 134217728 positions/],
    [{ model_type: 'opt', vocab_size: 10, hidden_size: 16, ffn_dim: 32, num_hidden_layers: 1, num_attention_heads: 4, max_position_embeddings: 8, word_embed_proj_dim: 8 }, /word_embed_proj_dim: expected hidden_size \(16\)/],
    [{ model_type: 'opt', vocab_size: 10, hidden_size: 16, ffn_dim: 32, num_hidden_layers: 1, num_attention_heads: 4, max_position_embeddings: 8, do_layer_norm_before: false }, /do_layer_norm_before: expected true/],
    [{ model_type: 'phi', vocab_size: 10, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 4, max_position_embeddings: 8, qk_layernorm: true }, /qk_layernorm: expected false/],
    [{ model_type: 'gpt_neox', vocab_size: 10, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 4, max_position_embeddings: 8, rotary_pct: 0.25 }, /rotary_pct: rotates 1 of head dimension 4; RoPE needs an even, non-zero number/],
    [{ ...llama, hidden_act: 'tanh' }, /hidden_act: expected one of gelu_new, .*silu/],
    [{ ...llama, eos_token_id: 'x' }, /eos_token_id: expected a token id, a list of token ids, or null/],
    [{ ...llama, model_type: 'qwen2', use_sliding_window: true }, /use_sliding_window: expected false/],
    [{ ...llama, model_type: 'bert' }, /model_type: "bert" is not supported \(supported: gpt2, llama, qwen2, mistral, qwen3, olmo2, gemma, gemma2, gemma3_text, phi3, gpt_neox, phi, opt; SmolLM is llama\)/],
    [{ ...llama, model_type: undefined }, /model_type: missing \(supported: gpt2, llama, qwen2, mistral/],
    [[1, 2], /expected a JSON object/],
    [{ ...gpt2, n_head: 5 }, /n_head: must divide n_embd \(768\)/],
    [{ ...gpt2, scale_attn_by_inverse_layer_idx: true }, /scale_attn_by_inverse_layer_idx: expected false/],
    [{ ...gpt2, n_layer: -1, vocab_size: null }, /: vocab_size: expected a positive integer; n_layer: expected a positive integer$/],
  ];
  for (const [json, pattern] of cases) assertLetheError(() => parseConfig(json, 'my/config.json'), 'my/config.json', pattern);
});

test('readConfig: a folder or the file, and file-level errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-config-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(smollm));
    assert.equal((await readConfig(dir)).hiddenSize, 576);
    assert.equal((await readConfig(join(dir, 'config.json'))).numLayers, 30);
    writeFileSync(join(dir, 'config.json'), '{"model_type": "llama",');
    await assertRejectsLethe(readConfig(dir), join(dir, 'config.json'), /not valid JSON/);
    await assertRejectsLethe(readConfig(join(dir, 'missing')), join(dir, 'missing', 'config.json'), /file not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeConfig writes the HF form back: it parses to the same ModelConfig, keys sorted', async () => {
  const configs: ModelConfig[] = [
    parseConfig(gpt2, 'c'),
    parseConfig({ ...gpt2, n_inner: 1000, tie_word_embeddings: false, activation_function: 'gelu' }, 'c'),
    parseConfig(smollm, 'c'),
    parseConfig({ ...smollm, model_type: 'qwen2', tie_word_embeddings: false, eos_token_id: [1, 2] }, 'c'),
    parseConfig({ ...smollm, model_type: 'mistral', sliding_window: 4096, head_dim: 32 }, 'c'),
    parseConfig({ ...smollm, attention_bias: true, mlp_bias: true, hidden_act: 'gelu_pytorch_tanh' }, 'c'),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'lethe-config-'));
  try {
    for (const config of configs) {
      await writeConfig(dir, config, { torchDtype: 'bfloat16', extra: { pad_token_id: 3, model_type: 'overridden' } });
      const text = readFileSync(join(dir, 'config.json'), 'utf8');
      const json = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(json), Object.keys(json).sort());
      assert.equal(json.torch_dtype, 'bfloat16');
      assert.equal(json.pad_token_id, 3);
      assert.equal(json.model_type, config.modelType);
      assert.deepEqual(await readConfig(dir), config);
    }
    assert.deepEqual(toHfConfig(configs[0]).architectures, ['GPT2LMHeadModel']);
    assert.deepEqual(toHfConfig(configs[3]).architectures, ['Qwen2ForCausalLM']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const asLlama = (c: ModelConfig): LlamaConfig => {
  assert.ok(c.family === 'llama');
  return c;
};

test('toHfConfig refuses what the HF class cannot express', () => {
  const llama = asLlama(parseConfig(smollm, 'c'));
  const qwen = parseConfig({ ...smollm, model_type: 'qwen2' }, 'c');
  const g = parseConfig(gpt2, 'c');
  assertLetheError(() => toHfConfig({ ...llama, qkvBias: true }), 'config.json', /cannot express q\/k\/v biases without the output bias/);
  assertLetheError(() => toHfConfig({ ...qwen, qkvBias: false }), 'config.json', /qwen2 config cannot express qkvBias false/);
  assertLetheError(() => toHfConfig({ ...g, numKvHeads: 4 }), 'config.json', /grouped or resized heads/);
  assertLetheError(() => toHfConfig({ ...g, mlpBias: false }), 'config.json', /missing biases/);
  assertLetheError(() => toHfConfig({ ...llama, slidingWindow: 128 }), 'config.json', /sliding window/);
});
