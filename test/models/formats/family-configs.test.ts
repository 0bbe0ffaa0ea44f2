// Released config.json files of each supported family (abridged to the keys that matter, values as
// published): parsed to what transformers would build, and written back (save) to a record that
// parses to the same config, keeping rope_scaling as it was.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, toHfConfig } from '../../../src/models/formats/config.ts';
import { variantOf, type LlamaConfig } from '../../../src/models/formats/model-config.ts';

const llama32: Record<string, unknown> = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16,
  num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, max_position_embeddings: 131072, rms_norm_eps: 1e-5, rope_theta: 500000.0,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  tie_word_embeddings: true, vocab_size: 128256, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], hidden_act: 'silu', attention_bias: false, mlp_bias: false,
};
const factors = (n: number, f: number) => Array.from({ length: n }, (_, i) => 1 + (f * i) / n);
const CONFIGS: Record<string, Record<string, unknown>> = {
  'Llama-3.2-1B-Instruct': llama32,
  'Qwen3-0.6B': {
    model_type: 'qwen3', hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128,
    max_position_embeddings: 40960, rms_norm_eps: 1e-6, rope_theta: 1000000, rope_scaling: null, sliding_window: null, use_sliding_window: false, max_window_layers: 28,
    tie_word_embeddings: true, vocab_size: 151936, attention_bias: false, hidden_act: 'silu', bos_token_id: 151643, eos_token_id: 151645,
  },
  'OLMo-2-0425-1B': {
    model_type: 'olmo2', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 16, num_key_value_heads: 16,
    max_position_embeddings: 4096, rms_norm_eps: 1e-6, rope_theta: 500000, rope_scaling: null, attention_bias: false, tie_word_embeddings: false, vocab_size: 100352, hidden_act: 'silu',
  },
  'gemma-2b': {
    model_type: 'gemma', hidden_size: 2048, intermediate_size: 16384, num_hidden_layers: 18, num_attention_heads: 8, num_key_value_heads: 1, head_dim: 256,
    max_position_embeddings: 8192, rms_norm_eps: 1e-6, rope_theta: 10000.0, hidden_act: 'gelu', hidden_activation: 'gelu_pytorch_tanh', vocab_size: 256000, attention_bias: false,
  },
  'gemma-2-2b': {
    model_type: 'gemma2', hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256,
    max_position_embeddings: 8192, rms_norm_eps: 1e-6, rope_theta: 10000.0, query_pre_attn_scalar: 256, sliding_window: 4096, attn_logit_softcapping: 50.0,
    final_logit_softcapping: 30.0, hidden_act: 'gelu_pytorch_tanh', hidden_activation: 'gelu_pytorch_tanh', vocab_size: 256000, cache_implementation: 'hybrid',
  },
  'gemma-3-1b-it': {
    model_type: 'gemma3_text', hidden_size: 1152, intermediate_size: 6912, num_hidden_layers: 26, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 256,
    max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000, rope_local_base_freq: 10000, rope_scaling: null, query_pre_attn_scalar: 256,
    sliding_window: 512, sliding_window_pattern: 6, attn_logit_softcapping: null, final_logit_softcapping: null, hidden_activation: 'gelu_pytorch_tanh', vocab_size: 262144,
  },
  'Phi-3.5-mini-instruct': {
    model_type: 'phi3', hidden_size: 3072, intermediate_size: 8192, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32,
    max_position_embeddings: 131072, original_max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: 10000.0, sliding_window: 262144,
    rope_scaling: { long_factor: factors(48, 40), short_factor: factors(48, 1), type: 'longrope' }, tie_word_embeddings: false, vocab_size: 32064, hidden_act: 'silu',
  },
  'phi-1_5': {
    model_type: 'phi', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 24, num_attention_heads: 32, num_key_value_heads: null,
    max_position_embeddings: 2048, partial_rotary_factor: 0.5, qk_layernorm: false, rope_scaling: null, rope_theta: 10000.0, layer_norm_eps: 1e-5,
    hidden_act: 'gelu_new', tie_word_embeddings: false, vocab_size: 51200,
  },
  'pythia-160m': {
    model_type: 'gpt_neox', hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12, max_position_embeddings: 2048,
    rotary_emb_base: 10000, rotary_pct: 0.25, use_parallel_residual: true, layer_norm_eps: 1e-5, hidden_act: 'gelu', tie_word_embeddings: false, vocab_size: 50304, bos_token_id: 0, eos_token_id: 0,
  },
  'opt-125m': {
    model_type: 'opt', hidden_size: 768, ffn_dim: 3072, num_hidden_layers: 12, num_attention_heads: 12, max_position_embeddings: 2048, do_layer_norm_before: true,
    word_embed_proj_dim: 768, activation_function: 'relu', vocab_size: 50272, bos_token_id: 2, eos_token_id: 2, pad_token_id: 1,
  },
};

test('released configs parse as transformers builds them', () => {
  const l = parseConfig(llama32, 'c') as LlamaConfig;
  assert.deepEqual(l.ropeScaling, { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
  assert.equal(l.maxPositions, 131072);
  const g2 = parseConfig(CONFIGS['gemma-2-2b'], 'c') as LlamaConfig;
  const v2 = variantOf(g2);
  assert.equal(v2.queryScale, 1 / 16);
  assert.deepEqual(v2.layerWindows!.slice(0, 4), [4096, null, 4096, null]);
  assert.equal(g2.tieWordEmbeddings, true);
  assert.equal(g2.activation, 'gelu_tanh');
  const g3 = variantOf(parseConfig(CONFIGS['gemma-3-1b-it'], 'c') as LlamaConfig);
  assert.deepEqual(g3.layerWindows!.slice(0, 6), [512, 512, 512, 512, 512, null]);
  assert.equal(g3.localRopeTheta, 10000);
  assert.equal(variantOf(parseConfig(CONFIGS['gemma-2b'], 'c') as LlamaConfig).embedScale, true);
  assert.equal((parseConfig(CONFIGS['gemma-2b'], 'c') as LlamaConfig).activation, 'gelu_tanh', 'hidden_activation wins over hidden_act');
  const phi3 = parseConfig(CONFIGS['Phi-3.5-mini-instruct'], 'c') as LlamaConfig;
  assert.equal(phi3.ropeScaling?.type, 'longrope');
  assert.ok(phi3.ropeScaling?.type === 'longrope' && Math.abs(phi3.ropeScaling.attentionFactor - Math.sqrt(1 + Math.log(32) / Math.log(4096))) < 1e-15);
  assert.equal(parseConfig(CONFIGS['pythia-160m'], 'c').headDim, 64);
  assert.equal(parseConfig(CONFIGS['Qwen3-0.6B'], 'c').headDim, 128);
});

for (const [name, json] of Object.entries(CONFIGS)) {
  test(`${name}: written back (save) it parses to the same config, rope_scaling kept as it was`, () => {
    const config = parseConfig(json, name);
    const written = toHfConfig(config, { extra: json });
    assert.deepEqual(parseConfig(written, 'written'), config);
    assert.deepEqual(written.rope_scaling ?? null, json.rope_scaling ?? null);
    assert.equal(written.max_position_embeddings, json.max_position_embeddings);
  });
}
