// Hugging Face `config.json` ⇄ ModelConfig, for GPT-2 and the Llama family (Llama, Qwen2,
// Mistral, Qwen3, OLMo 2, Gemma, Gemma 2, Gemma 3 text, Phi-3).
//
// Defaults are transformers' own for a key that is absent (GPT2Config, LlamaConfig, Qwen2Config,
// MistralConfig, Qwen3Config, Olmo2Config, GemmaConfig, Gemma2Config, Gemma3TextConfig,
// Phi3Config), so a config loads here as it would in transformers. Options that change the
// computation and that lethe does not implement (an unknown RoPE scaling type, Qwen2/3's
// per-layer sliding window, GPT-2's unscaled or layer-scaled attention) are refused with the
// field named, never silently ignored.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { LetheError } from '../../engine/errors.ts';
import { MAX_ROPE_POSITIONS, type RopeScaling } from '../../nn/rope.ts';
import type { Activation, DecoderVariant, Gpt2Config, LayerNormDecoderConfig, LlamaConfig, LlamaModelType, ModelConfig, ModelType } from './model-config.ts';
import { LLAMA_VARIANT, variantOf } from './model-config.ts';
import { writeFileAtomic } from './write-file-atomic.ts';

export type { Activation, Gpt2Config, LlamaConfig, ModelConfig, ModelType } from './model-config.ts';

export const CONFIG_FILE = 'config.json';
export const SUPPORTED_MODEL_TYPES: readonly ModelType[] = ['gpt2', 'llama', 'qwen2', 'mistral', 'qwen3', 'olmo2', 'gemma', 'gemma2', 'gemma3_text', 'phi3', 'gpt_neox', 'phi', 'opt'];
const LLAMA_TYPES: [LlamaModelType, ...LlamaModelType[]] = ['llama', 'qwen2', 'mistral', 'qwen3', 'olmo2', 'gemma', 'gemma2', 'gemma3_text', 'phi3'];

// Every schema names what it expected, and says "missing" for an absent required key.
const expect = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'missing (required)' : `expected ${what}`),
});
const positiveInt = () => z.number(expect('a positive integer')).int(expect('a positive integer')).positive(expect('a positive integer'));
// A context length: beyond 2^27 positions a value is a typo, not a model (and its tables would not fit).
const contextLength = () => positiveInt().max(MAX_ROPE_POSITIONS, `expected at most ${MAX_ROPE_POSITIONS} positions`);
const positive = () => z.number(expect('a positive number')).positive(expect('a positive number'));
const isPositiveInt = (x: unknown): boolean => Number.isInteger(x) && (x as number) > 0;
const flag = () => z.boolean(expect('true or false'));
const tokenId = z.number().int().nonnegative();
const tokenIds = z.union([tokenId, z.array(tokenId), z.null()], expect('a token id, a list of token ids, or null')).optional();

const ACTIVATIONS: Record<string, Activation> = {
  gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', gelu_fast: 'gelu_tanh', gelu: 'gelu', relu: 'relu', silu: 'silu', swish: 'silu',
};
const activation = z.enum(Object.keys(ACTIVATIONS) as [string, ...string[]], expect(`one of ${Object.keys(ACTIVATIONS).join(', ')}`));

const gpt2Schema = z
  .object({
    model_type: z.literal('gpt2'),
    vocab_size: positiveInt(),
    n_embd: positiveInt(),
    n_layer: positiveInt(),
    n_head: positiveInt(),
    n_positions: contextLength(),
    n_inner: positiveInt().nullish(),
    layer_norm_epsilon: positive().default(1e-5),
    activation_function: activation.default('gelu_new'),
    tie_word_embeddings: flag().default(true),
    scale_attn_weights: z.literal(true, expect('true (attention is always scaled by 1/sqrt(head_dim))')).optional(),
    scale_attn_by_inverse_layer_idx: z.literal(false, expect('false (layer-index scaling is not supported)')).optional(),
    bos_token_id: tokenIds,
    eos_token_id: tokenIds,
  })
  .superRefine((c, ctx) => {
    if (isPositiveInt(c.n_embd) && isPositiveInt(c.n_head) && c.n_embd % c.n_head !== 0) ctx.addIssue({ code: 'custom', path: ['n_head'], message: `must divide n_embd (${c.n_embd})` });
  });


/** A share in (0, 1] (the rotary fraction of a head). */
const fraction = () => z.number(expect('a number in (0, 1]')).gt(0, expect('a number in (0, 1]')).max(1, expect('a number in (0, 1]'));
/** `rope_scaling` as written (parsed by parseRopeScaling); null or absent for none. */
const ropeScalingField = () => z.record(z.string(), z.unknown(), expect('an object or null')).nullish();

const llamaSchema = z
  .object({
    model_type: z.enum(LLAMA_TYPES),
    vocab_size: positiveInt(),
    hidden_size: positiveInt(),
    intermediate_size: positiveInt(),
    num_hidden_layers: positiveInt(),
    num_attention_heads: positiveInt(),
    num_key_value_heads: positiveInt().nullish(),
    head_dim: positiveInt().nullish(),
    max_position_embeddings: contextLength(),
    rms_norm_eps: positive().optional(),
    rope_theta: positive().optional(),
    rope_scaling: ropeScalingField(),
    partial_rotary_factor: fraction().optional(),
    original_max_position_embeddings: contextLength().optional(),
    tie_word_embeddings: flag().optional(),
    hidden_act: activation.optional(),
    hidden_activation: activation.nullish(),
    attention_bias: flag().default(false),
    mlp_bias: flag().default(false),
    sliding_window: positiveInt().nullish(),
    use_sliding_window: flag().default(false),
    // Gemma 2 / 3
    query_pre_attn_scalar: positive().nullish(),
    attn_logit_softcapping: positive().nullish(),
    final_logit_softcapping: positive().nullish(),
    sliding_window_pattern: positiveInt().nullish(),
    layer_types: z.array(z.enum(['sliding_attention', 'full_attention']), expect('a list of "sliding_attention" / "full_attention"')).nullish(),
    rope_local_base_freq: positive().optional(),
    bos_token_id: tokenIds,
    eos_token_id: tokenIds,
  })
  .superRefine((c, ctx) => {
    const heads = c.num_attention_heads;
    const kv = c.num_key_value_heads ?? heads;
    if (!isPositiveInt(heads) || !isPositiveInt(kv) || !isPositiveInt(c.hidden_size)) return; // already reported
    if (heads % kv !== 0) ctx.addIssue({ code: 'custom', path: ['num_key_value_heads'], message: `must divide num_attention_heads (${heads})` });
    const headDim = c.head_dim ?? DEFAULT_HEAD_DIM[c.model_type] ?? c.hidden_size / heads;
    if (!Number.isInteger(headDim)) {
      ctx.addIssue({ code: 'custom', path: ['num_attention_heads'], message: `must divide hidden_size (${c.hidden_size}) when head_dim is not given` });
    } else if (Math.floor(headDim * (c.partial_rotary_factor ?? 1)) % 2 !== 0) {
      const part = c.partial_rotary_factor === undefined ? '' : ` (its rotated part, × partial_rotary_factor ${c.partial_rotary_factor})`;
      ctx.addIssue({ code: 'custom', path: ['head_dim'], message: `head dimension ${headDim}${part} must be even for RoPE` });
    }
    if ((c.model_type === 'qwen2' || c.model_type === 'qwen3') && c.use_sliding_window) {
      ctx.addIssue({ code: 'custom', path: ['use_sliding_window'], message: 'expected false (per-layer sliding windows are not supported)' });
    }
    if (c.layer_types && c.layer_types.length !== c.num_hidden_layers) {
      ctx.addIssue({ code: 'custom', path: ['layer_types'], message: `expected ${c.num_hidden_layers} entries (num_hidden_layers), found ${c.layer_types.length}` });
    }
  });

/** transformers' head_dim when the key is absent (else hidden_size / num_attention_heads). */
const DEFAULT_HEAD_DIM: Partial<Record<LlamaModelType, number>> = { qwen3: 128, gemma: 256, gemma2: 256, gemma3_text: 256 };
const GEMMA = new Set<LlamaModelType>(['gemma', 'gemma2', 'gemma3_text']);

/** Per model type, transformers' defaults of the keys whose default differs between the classes. */
function typeDefaults(type: LlamaModelType): { eps: number; theta: number; tied: boolean; act: string } {
  if (GEMMA.has(type)) return { eps: 1e-6, theta: type === 'gemma3_text' ? 1e6 : 10000, tied: true, act: 'gelu_pytorch_tanh' };
  return { eps: type === 'olmo2' || type === 'phi3' ? 1e-5 : 1e-6, theta: 10000, tied: false, act: 'silu' };
}

const ROPE_TYPES = ['default', 'linear', 'dynamic', 'yarn', 'longrope', 'su', 'llama3'];

/**
 * config.json's `rope_scaling` (key `rope_type`, or the older `type`) as a RopeScaling; null for
 * none or "default". Throws naming the type for one lethe does not implement.
 */
export function parseRopeScaling(raw: Record<string, unknown> | null | undefined, c: { max_position_embeddings: number; original_max_position_embeddings?: number; head_dim: number }, file: string): RopeScaling | null {
  if (raw === null || raw === undefined) return null;
  const type = raw.rope_type ?? raw.type;
  const bad = (what: string) => new LetheError(`${file}: rope_scaling.${what}`);
  if (typeof type !== 'string') throw bad(`rope_type: missing (one of ${ROPE_TYPES.join(', ')})`);
  if (!ROPE_TYPES.includes(type)) throw bad(`rope_type: "${type}" is not supported (supported: ${ROPE_TYPES.join(', ')})`);
  const num = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad(`${key}: expected a positive number${raw[key] === undefined ? ' (missing)' : `, found ${JSON.stringify(raw[key])}`}`);
    return v;
  };
  const original = (fallback: number) => num('original_max_position_embeddings', fallback);
  switch (type) {
    case 'default':
      return null;
    case 'linear':
      return { type: 'linear', factor: num('factor') };
    case 'dynamic':
      return { type: 'dynamic', factor: num('factor'), originalMaxPositions: original(c.max_position_embeddings) };
    case 'llama3': {
      const s = { type: 'llama3' as const, factor: num('factor'), lowFreqFactor: num('low_freq_factor'), highFreqFactor: num('high_freq_factor'), originalMaxPositions: original(NaN) };
      if (s.highFreqFactor <= s.lowFreqFactor) throw bad(`high_freq_factor: must exceed low_freq_factor (${s.lowFreqFactor})`);
      return s;
    }
    case 'yarn': {
      const factor = num('factor');
      // transformers' get_mscale: 0.1·mscale·ln(factor) + 1 (1 for factor ≤ 1).
      const mscale = (m: number) => (factor <= 1 ? 1 : 0.1 * m * Math.log(factor) + 1);
      const m = raw.mscale;
      const mAll = raw.mscale_all_dim;
      const attentionFactor = raw.attention_factor !== undefined && raw.attention_factor !== null
        ? num('attention_factor')
        : typeof m === 'number' && typeof mAll === 'number' && m && mAll ? mscale(m) / mscale(mAll) : mscale(1);
      return {
        type: 'yarn', factor, originalMaxPositions: original(c.max_position_embeddings), betaFast: num('beta_fast', 32), betaSlow: num('beta_slow', 1),
        attentionFactor, truncate: raw.truncate !== false,
      };
    }
    default: {
      // longrope ("su" in the first Phi-3 configs): L₀ from the config's original_max_position_embeddings.
      const originalMax = c.original_max_position_embeddings ?? original(c.max_position_embeddings);
      const half = c.head_dim / 2;
      const factors = (key: string): number[] => {
        const v = raw[key];
        if (!Array.isArray(v) || v.length !== half || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
          throw bad(`${key}: expected ${half} positive numbers (half the rotated head dimension)`);
        }
        return v as number[];
      };
      const factor = c.original_max_position_embeddings !== undefined ? c.max_position_embeddings / c.original_max_position_embeddings : num('factor', 1);
      const attentionFactor = raw.attention_factor !== undefined && raw.attention_factor !== null
        ? num('attention_factor')
        : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(originalMax));
      return { type: 'longrope', shortFactor: factors('short_factor'), longFactor: factors('long_factor'), originalMaxPositions: originalMax, attentionFactor };
    }
  }
}

/** Validates a parsed config.json; `file` names it in errors. */
export function parseConfig(json: unknown, file: string): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new LetheError(`${file}: expected a JSON object`);
  const type = (json as { model_type?: unknown }).model_type;
  const supported = `supported: ${SUPPORTED_MODEL_TYPES.join(', ')}; SmolLM is llama`;
  if (type === undefined) throw new LetheError(`${file}: model_type: missing (${supported})`);
  if (!SUPPORTED_MODEL_TYPES.includes(type as ModelType)) {
    throw new LetheError(`${file}: model_type: ${JSON.stringify(type)} is not supported (${supported})`);
  }
  if (type === 'gpt2') return gpt2FromHf(parseWith(gpt2Schema, json, file));
  if (type === 'gpt_neox') return neoxFromHf(parseWith(neoxSchema, json, file), file);
  if (type === 'phi') return phiFromHf(parseWith(phiSchema, json, file), file);
  if (type === 'opt') return optFromHf(parseWith(optSchema, json, file));
  return llamaFromHf(parseWith(llamaSchema, json, file), file);
}

// GPT-NeoX (GPTNeoXConfig defaults: rotary_pct 0.25, rotary_emb_base 10000, parallel residual,
// exact GELU, eps 1e-5, biased attention, untied embed_out).
const neoxSchema = z.object({
  model_type: z.literal('gpt_neox'),
  vocab_size: positiveInt(),
  hidden_size: positiveInt(),
  intermediate_size: positiveInt(),
  num_hidden_layers: positiveInt(),
  num_attention_heads: positiveInt(),
  max_position_embeddings: contextLength(),
  rotary_pct: fraction().default(0.25),
  rotary_emb_base: positive().default(10000),
  rope_scaling: ropeScalingField(),
  layer_norm_eps: positive().default(1e-5),
  use_parallel_residual: flag().default(true),
  hidden_act: activation.default('gelu'),
  attention_bias: flag().default(true),
  tie_word_embeddings: flag().default(false),
  bos_token_id: tokenIds,
  eos_token_id: tokenIds,
}).superRefine((c, ctx) => headsDivide(c, ctx));

// Phi-1.5 / Phi-2 (PhiConfig: partial_rotary_factor 0.5, gelu_new, eps 1e-5, biased lm_head).
const phiSchema = z.object({
  model_type: z.literal('phi'),
  vocab_size: positiveInt(),
  hidden_size: positiveInt(),
  intermediate_size: positiveInt(),
  num_hidden_layers: positiveInt(),
  num_attention_heads: positiveInt(),
  num_key_value_heads: positiveInt().nullish(),
  max_position_embeddings: contextLength(),
  partial_rotary_factor: fraction().default(0.5),
  rope_theta: positive().default(10000),
  rope_scaling: ropeScalingField(),
  layer_norm_eps: positive().default(1e-5),
  hidden_act: activation.default('gelu_new'),
  qk_layernorm: z.literal(false, expect('false (q/k LayerNorm is not supported)')).optional(),
  tie_word_embeddings: flag().default(false),
  bos_token_id: tokenIds,
  eos_token_id: tokenIds,
}).superRefine((c, ctx) => headsDivide(c, ctx));

// OPT (OPTConfig: pre-LayerNorm, ReLU, biases, tied head). OPT-350m's projected embeddings and
// post-LayerNorm are refused by field.
const optSchema = z.object({
  model_type: z.literal('opt'),
  vocab_size: positiveInt(),
  hidden_size: positiveInt(),
  ffn_dim: positiveInt(),
  num_hidden_layers: positiveInt(),
  num_attention_heads: positiveInt(),
  max_position_embeddings: contextLength(),
  do_layer_norm_before: z.literal(true, expect('true (post-LayerNorm OPT-350m is not supported)')).optional(),
  word_embed_proj_dim: positiveInt().nullish(),
  activation_function: activation.default('relu'),
  enable_bias: flag().default(true),
  layer_norm_elementwise_affine: z.literal(true, expect('true')).optional(),
  _remove_final_layer_norm: z.literal(false, expect('false')).optional(),
  tie_word_embeddings: flag().default(true),
  bos_token_id: tokenIds,
  eos_token_id: tokenIds,
}).superRefine((c, ctx) => {
  headsDivide(c, ctx);
  if (isPositiveInt(c.word_embed_proj_dim) && c.word_embed_proj_dim !== c.hidden_size) {
    ctx.addIssue({ code: 'custom', path: ['word_embed_proj_dim'], message: `expected hidden_size (${c.hidden_size}) (projected embeddings are not supported)` });
  }
});

function headsDivide(c: { hidden_size: number; num_attention_heads: number; num_key_value_heads?: number | null }, ctx: z.RefinementCtx): void {
  const heads = c.num_attention_heads;
  if (!isPositiveInt(heads) || !isPositiveInt(c.hidden_size)) return;
  if (c.hidden_size % heads !== 0) ctx.addIssue({ code: 'custom', path: ['num_attention_heads'], message: `must divide hidden_size (${c.hidden_size})` });
  const kv = c.num_key_value_heads ?? heads;
  if (isPositiveInt(kv) && heads % kv !== 0) ctx.addIssue({ code: 'custom', path: ['num_key_value_heads'], message: `must divide num_attention_heads (${heads})` });
}

function evenRotary(headDim: number, fraction: number, field: string, file: string): void {
  if (Math.floor(headDim * fraction) % 2 !== 0 || Math.floor(headDim * fraction) === 0) {
    throw new LetheError(`${file}: ${field}: rotates ${Math.floor(headDim * fraction)} of head dimension ${headDim}; RoPE needs an even, non-zero number`);
  }
}

function neoxFromHf(c: z.infer<typeof neoxSchema>, file: string): LayerNormDecoderConfig {
  const headDim = c.hidden_size / c.num_attention_heads;
  evenRotary(headDim, c.rotary_pct, 'rotary_pct', file);
  const ropeScaling = parseRopeScaling(c.rope_scaling, { ...c, head_dim: Math.floor(headDim * c.rotary_pct) }, file);
  return {
    family: 'gpt_neox', modelType: 'gpt_neox', vocabSize: c.vocab_size, hiddenSize: c.hidden_size, numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads, numKvHeads: c.num_attention_heads, headDim, intermediateSize: c.intermediate_size,
    maxPositions: c.max_position_embeddings, normEps: c.layer_norm_eps, tieWordEmbeddings: c.tie_word_embeddings,
    qkvBias: c.attention_bias, outBias: c.attention_bias, mlpBias: true, activation: ACTIVATIONS[c.hidden_act],
    ropeTheta: c.rotary_emb_base, partialRotary: c.rotary_pct, ...(ropeScaling ? { ropeScaling } : {}), parallelResidual: c.use_parallel_residual,
    bosTokenId: firstId(c.bos_token_id), eosTokenId: c.eos_token_id ?? null,
  };
}

function phiFromHf(c: z.infer<typeof phiSchema>, file: string): LayerNormDecoderConfig {
  const headDim = c.hidden_size / c.num_attention_heads;
  evenRotary(headDim, c.partial_rotary_factor, 'partial_rotary_factor', file);
  const ropeScaling = parseRopeScaling(c.rope_scaling, { ...c, head_dim: Math.floor(headDim * c.partial_rotary_factor) }, file);
  return {
    family: 'phi', modelType: 'phi', vocabSize: c.vocab_size, hiddenSize: c.hidden_size, numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads, numKvHeads: c.num_key_value_heads ?? c.num_attention_heads, headDim, intermediateSize: c.intermediate_size,
    maxPositions: c.max_position_embeddings, normEps: c.layer_norm_eps, tieWordEmbeddings: c.tie_word_embeddings,
    qkvBias: true, outBias: true, mlpBias: true, activation: ACTIVATIONS[c.hidden_act],
    ropeTheta: c.rope_theta, partialRotary: c.partial_rotary_factor, ...(ropeScaling ? { ropeScaling } : {}), parallelResidual: true,
    bosTokenId: firstId(c.bos_token_id), eosTokenId: c.eos_token_id ?? null,
  };
}

function optFromHf(c: z.infer<typeof optSchema>): LayerNormDecoderConfig {
  return {
    family: 'opt', modelType: 'opt', vocabSize: c.vocab_size, hiddenSize: c.hidden_size, numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads, numKvHeads: c.num_attention_heads, headDim: c.hidden_size / c.num_attention_heads, intermediateSize: c.ffn_dim,
    maxPositions: c.max_position_embeddings, normEps: 1e-5, tieWordEmbeddings: c.tie_word_embeddings,
    qkvBias: c.enable_bias, outBias: c.enable_bias, mlpBias: c.enable_bias, activation: ACTIVATIONS[c.activation_function],
    ropeTheta: 10000, partialRotary: 1, parallelResidual: false,
    bosTokenId: firstId(c.bos_token_id), eosTokenId: c.eos_token_id ?? null,
  };
}

/** Reads `config.json` from a model folder (or the JSON file given). */
export async function readConfig(dirOrFile: string): Promise<ModelConfig> {
  const file = dirOrFile.endsWith('.json') ? dirOrFile : join(dirOrFile, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LetheError(code === 'ENOENT' ? `${file}: file not found` : `${file}: cannot read the file (${code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LetheError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return parseConfig(json, file);
}

function parseWith<T>(schema: z.ZodType<T>, json: unknown, file: string): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.map(String).join('.') || '(top)'}: ${i.message}`);
  throw new LetheError(`${file}: ${problems.join('; ')}`);
}

function gpt2FromHf(c: z.infer<typeof gpt2Schema>): Gpt2Config {
  return {
    family: 'gpt2',
    modelType: 'gpt2',
    vocabSize: c.vocab_size,
    hiddenSize: c.n_embd,
    numLayers: c.n_layer,
    numHeads: c.n_head,
    numKvHeads: c.n_head,
    headDim: c.n_embd / c.n_head,
    intermediateSize: c.n_inner ?? 4 * c.n_embd,
    maxPositions: c.n_positions,
    normEps: c.layer_norm_epsilon,
    tieWordEmbeddings: c.tie_word_embeddings,
    qkvBias: true,
    outBias: true,
    mlpBias: true,
    activation: ACTIVATIONS[c.activation_function],
    bosTokenId: firstId(c.bos_token_id),
    eosTokenId: c.eos_token_id ?? null,
  };
}

function llamaFromHf(c: z.infer<typeof llamaSchema>, file: string): LlamaConfig {
  const type = c.model_type;
  const d = typeDefaults(type);
  const headDim = c.head_dim ?? DEFAULT_HEAD_DIM[type] ?? c.hidden_size / c.num_attention_heads;
  const partialRotary = c.partial_rotary_factor ?? 1;
  const ropeScaling = parseRopeScaling(c.rope_scaling, { ...c, head_dim: Math.floor(headDim * partialRotary) }, file);
  // Qwen2 always has q/k/v biases and no others; Llama, OLMo 2, Qwen 3 and Gemma follow their flags.
  const flagged = type === 'llama' || type === 'olmo2' || type === 'qwen3' || GEMMA.has(type);
  const qkvBias = type === 'qwen2' || (flagged && c.attention_bias);
  const variant = variantFromHf(c, type);
  // Dynamic NTK and YaRN exist to run past the trained context: lethe's context is the scaled one.
  const s = ropeScaling;
  const maxPositions = s?.type === 'dynamic' || s?.type === 'yarn'
    ? Math.min(MAX_ROPE_POSITIONS, Math.max(c.max_position_embeddings, Math.round(s.originalMaxPositions * s.factor)))
    : c.max_position_embeddings;
  const config: LlamaConfig = {
    family: 'llama',
    modelType: type,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads: c.num_key_value_heads ?? c.num_attention_heads,
    headDim,
    intermediateSize: c.intermediate_size,
    maxPositions,
    normEps: c.rms_norm_eps ?? d.eps,
    tieWordEmbeddings: c.tie_word_embeddings ?? d.tied,
    qkvBias,
    outBias: flagged && c.attention_bias,
    mlpBias: type === 'llama' && c.mlp_bias,
    activation: ACTIVATIONS[(GEMMA.has(type) ? c.hidden_activation ?? c.hidden_act : c.hidden_act) ?? d.act],
    ropeTheta: c.rope_theta ?? d.theta,
    // MistralConfig's default window is 4096 when the key is absent; null turns it off. Phi-3 windows every layer too.
    slidingWindow: type === 'mistral' ? (c.sliding_window === undefined ? 4096 : c.sliding_window) : type === 'phi3' ? (c.sliding_window ?? null) : null,
    bosTokenId: firstId(c.bos_token_id),
    eosTokenId: c.eos_token_id ?? null,
  };
  if (ropeScaling) config.ropeScaling = ropeScaling;
  if (variant) config.variant = variant;
  return config;
}

/** The family's departures from Llama (model-config.ts DecoderVariant), or undefined for Llama, Qwen2, Mistral. */
function variantFromHf(c: z.infer<typeof llamaSchema>, type: LlamaModelType): DecoderVariant | undefined {
  const partialRotary = c.partial_rotary_factor ?? 1;
  const v: DecoderVariant = { ...LLAMA_VARIANT, partialRotary };
  switch (type) {
    case 'qwen3':
      return { ...v, qkNorm: 'head' };
    case 'olmo2':
      return { ...v, qkNorm: 'full', norms: 'post' };
    case 'phi3':
      return { ...v, fused: true };
    case 'gemma':
      return { ...v, normOffset: true, embedScale: true };
    case 'gemma2':
    case 'gemma3_text': {
      const window = c.sliding_window === undefined ? 4096 : c.sliding_window;
      const pattern = c.sliding_window_pattern ?? (type === 'gemma2' ? 2 : 6);
      // transformers: layer i is sliding unless (i + 1) is a multiple of the pattern (Gemma 2: even layers slide).
      const types = c.layer_types ?? Array.from({ length: c.num_hidden_layers }, (_, i) => ((i + 1) % pattern ? 'sliding_attention' : 'full_attention'));
      const gemma3 = type === 'gemma3_text';
      return {
        ...v, normOffset: true, embedScale: true, norms: 'sandwich', qkNorm: gemma3 ? 'head' : 'none',
        queryScale: 1 / Math.sqrt(c.query_pre_attn_scalar ?? 256),
        attnSoftcap: c.attn_logit_softcapping === undefined ? (gemma3 ? null : 50) : c.attn_logit_softcapping,
        finalSoftcap: c.final_logit_softcapping === undefined ? (gemma3 ? null : 30) : c.final_logit_softcapping,
        layerWindows: types.map((t) => (t === 'sliding_attention' ? window : null)),
        localRopeTheta: gemma3 ? (c.rope_local_base_freq ?? 10000) : null,
      };
    }
    default:
      return partialRotary === 1 ? undefined : v;
  }
}

const firstId = (id: number | number[] | null | undefined): number | null => (Array.isArray(id) ? (id[0] ?? null) : (id ?? null));

// ---------------------------------------------------------------------------------------------
// writing

export interface WriteConfigOptions {
  /** How the weights beside it are stored (transformers' `torch_dtype`). Default float32. */
  torchDtype?: 'float32' | 'float16' | 'bfloat16';
  /** Further keys to keep (e.g. from the source config); the model's own keys take precedence. */
  extra?: Record<string, unknown>;
}

const ARCHITECTURES: Record<ModelType, string> = {
  gpt2: 'GPT2LMHeadModel', llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', mistral: 'MistralForCausalLM',
  qwen3: 'Qwen3ForCausalLM', olmo2: 'Olmo2ForCausalLM', gemma: 'GemmaForCausalLM', gemma2: 'Gemma2ForCausalLM',
  gemma3_text: 'Gemma3ForCausalLM', phi3: 'Phi3ForCausalLM', gpt_neox: 'GPTNeoXForCausalLM', phi: 'PhiForCausalLM', opt: 'OPTForCausalLM',
};

/** config.json's rope_scaling for `s` (the source's own record when it says the same, so a round trip keeps it verbatim). */
function toHfRopeScaling(config: LlamaConfig, extra: Record<string, unknown> | undefined, rotaryDim = Math.floor(config.headDim * variantOf(config).partialRotary)): Record<string, unknown> | null {
  const s = config.ropeScaling ?? null;
  if (!s) return null;
  const source = extra?.rope_scaling;
  if (typeof source === 'object' && source !== null) {
    try {
      const again = parseRopeScaling(source as Record<string, unknown>, {
        max_position_embeddings: typeof extra?.max_position_embeddings === 'number' ? extra.max_position_embeddings : config.maxPositions,
        original_max_position_embeddings: typeof extra?.original_max_position_embeddings === 'number' ? extra.original_max_position_embeddings : undefined,
        head_dim: rotaryDim,
      }, 'config.json');
      if (JSON.stringify(again) === JSON.stringify(s)) return source as Record<string, unknown>;
    } catch {
      // not the same scaling: written from the config below
    }
  }
  switch (s.type) {
    case 'linear':
      return { rope_type: 'linear', factor: s.factor };
    case 'dynamic':
      return { rope_type: 'dynamic', factor: s.factor, original_max_position_embeddings: s.originalMaxPositions };
    case 'llama3':
      return { rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor, original_max_position_embeddings: s.originalMaxPositions };
    case 'yarn':
      return { rope_type: 'yarn', factor: s.factor, original_max_position_embeddings: s.originalMaxPositions, beta_fast: s.betaFast, beta_slow: s.betaSlow, attention_factor: s.attentionFactor, truncate: s.truncate };
    case 'longrope':
      return { rope_type: 'longrope', short_factor: s.shortFactor, long_factor: s.longFactor, original_max_position_embeddings: s.originalMaxPositions, attention_factor: s.attentionFactor };
  }
}

/** The Hugging Face config.json record for `config`; refuses what the HF class cannot express. */
export function toHfConfig(config: ModelConfig, options: WriteConfigOptions = {}): Record<string, unknown> {
  const cannot = (what: string) => new LetheError(`config.json: a ${config.modelType} config cannot express ${what}`);
  const common = {
    ...options.extra,
    architectures: [ARCHITECTURES[config.modelType]],
    model_type: config.modelType,
    vocab_size: config.vocabSize,
    tie_word_embeddings: config.tieWordEmbeddings,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    torch_dtype: options.torchDtype ?? 'float32',
  };
  if (config.family === 'gpt2') {
    if (config.numKvHeads !== config.numHeads || config.headDim * config.numHeads !== config.hiddenSize) throw cannot('grouped or resized heads');
    if (!config.qkvBias || !config.outBias || !config.mlpBias) throw cannot('missing biases');
    return sortKeys({
      ...common,
      n_embd: config.hiddenSize,
      n_layer: config.numLayers,
      n_head: config.numHeads,
      n_positions: config.maxPositions,
      n_ctx: config.maxPositions,
      n_inner: config.intermediateSize === 4 * config.hiddenSize ? null : config.intermediateSize,
      layer_norm_epsilon: config.normEps,
      activation_function: config.activation === 'gelu_tanh' ? 'gelu_new' : config.activation,
    });
  }
  if (config.family !== 'llama') return sortKeys(checkRoundTrip(config, layerNormDecoderToHf(config, common, options.extra)));
  const type = config.modelType;
  const biases = type === 'qwen2' ? [true, false, false] : type === 'mistral' ? [false, false, false] : undefined;
  if (biases && (config.qkvBias !== biases[0] || config.outBias !== biases[1] || config.mlpBias !== biases[2])) {
    throw cannot(`qkvBias ${config.qkvBias}, outBias ${config.outBias}, mlpBias ${config.mlpBias}`);
  }
  if (['llama', 'olmo2', 'qwen3', 'gemma', 'gemma2', 'gemma3_text'].includes(type) && config.qkvBias !== config.outBias) {
    throw cannot('q/k/v biases without the output bias (attention_bias covers both)');
  }
  if (type !== 'mistral' && type !== 'phi3' && config.slidingWindow !== null) throw cannot('a sliding window on every layer');
  const v = variantOf(config);
  const scaling = config.ropeScaling ?? null;
  const extraMax = options.extra?.max_position_embeddings;
  // Dynamic NTK and YaRN contexts are the scaled ones (llamaFromHf): the file keeps the trained length.
  const maxPositions = (scaling?.type === 'dynamic' || scaling?.type === 'yarn') ? (typeof extraMax === 'number' ? extraMax : scaling.originalMaxPositions) : config.maxPositions;
  const hf: Record<string, unknown> = {
    ...common,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    max_position_embeddings: maxPositions,
    rms_norm_eps: config.normEps,
    rope_theta: config.ropeTheta,
    rope_scaling: toHfRopeScaling(config, options.extra),
    hidden_act: config.activation === 'gelu_tanh' ? 'gelu_pytorch_tanh' : config.activation,
  };
  if (v.partialRotary !== 1) hf.partial_rotary_factor = v.partialRotary;
  if (type === 'llama') Object.assign(hf, { attention_bias: config.qkvBias, mlp_bias: config.mlpBias });
  if (type === 'olmo2' || type === 'qwen3' || GEMMA.has(type)) hf.attention_bias = config.qkvBias;
  if (type === 'mistral' || type === 'phi3') hf.sliding_window = config.slidingWindow;
  if (type === 'qwen2' || type === 'qwen3') Object.assign(hf, { use_sliding_window: false, sliding_window: null });
  if (GEMMA.has(type)) hf.hidden_activation = hf.hidden_act;
  if (type === 'gemma2' || type === 'gemma3_text') {
    const windows = v.layerWindows ?? [];
    Object.assign(hf, {
      query_pre_attn_scalar: v.queryScale === null ? config.headDim : Math.round(1 / v.queryScale ** 2),
      attn_logit_softcapping: v.attnSoftcap,
      final_logit_softcapping: v.finalSoftcap,
      sliding_window: windows.find((w) => w !== null) ?? null,
      layer_types: windows.map((w) => (w === null ? 'full_attention' : 'sliding_attention')),
    });
    if (type === 'gemma3_text') {
      hf.rope_local_base_freq = v.localRopeTheta;
      const pattern = windows.indexOf(null) + 1;
      if (pattern > 0 && windows.every((w, i) => (w === null) === ((i + 1) % pattern === 0))) hf.sliding_window_pattern = pattern;
    }
  }
  return sortKeys(checkRoundTrip(config, hf));
}

/** `hf` when the HF class would make exactly `config` of it; else what it cannot express, named. */
function checkRoundTrip(config: ModelConfig, hf: Record<string, unknown>): Record<string, unknown> {
  const back = parseConfig(hf, 'config.json') as unknown as Record<string, unknown>;
  const mine = config as unknown as Record<string, unknown>;
  const differs = Object.keys({ ...mine, ...back }).filter((k) => JSON.stringify(mine[k] ?? null) !== JSON.stringify(back[k] ?? null));
  if (differs.length > 0) throw new LetheError(`config.json: a ${config.modelType} config cannot express ${differs.map((k) => `${k} ${JSON.stringify(mine[k] ?? null)}`).join(', ')}`);
  return hf;
}

function layerNormDecoderToHf(config: LayerNormDecoderConfig, common: Record<string, unknown>, extra: Record<string, unknown> | undefined): Record<string, unknown> {
  const act = config.activation === 'gelu_tanh' ? 'gelu_new' : config.activation;
  const base = { ...common, vocab_size: config.vocabSize, hidden_size: config.hiddenSize, num_hidden_layers: config.numLayers, num_attention_heads: config.numHeads, max_position_embeddings: config.maxPositions };
  const scaling = toHfRopeScaling({ ...config, family: 'llama', modelType: 'llama', slidingWindow: null } as LlamaConfig, extra, Math.floor(config.headDim * config.partialRotary));
  switch (config.family) {
    case 'gpt_neox':
      return { ...base, intermediate_size: config.intermediateSize, rotary_pct: config.partialRotary, rotary_emb_base: config.ropeTheta, rope_scaling: scaling, layer_norm_eps: config.normEps, use_parallel_residual: config.parallelResidual, hidden_act: act, attention_bias: config.qkvBias };
    case 'phi':
      return { ...base, intermediate_size: config.intermediateSize, num_key_value_heads: config.numKvHeads, partial_rotary_factor: config.partialRotary, rope_theta: config.ropeTheta, rope_scaling: scaling, layer_norm_eps: config.normEps, hidden_act: act, qk_layernorm: false };
    case 'opt':
      return { ...base, ffn_dim: config.intermediateSize, word_embed_proj_dim: config.hiddenSize, do_layer_norm_before: true, activation_function: act, enable_bias: config.qkvBias };
  }
}

/** Writes `dir/config.json` (keys sorted, as save_pretrained does) atomically. */
export async function writeConfig(dir: string, config: ModelConfig, options: WriteConfigOptions = {}): Promise<void> {
  await writeFileAtomic(join(dir, CONFIG_FILE), `${JSON.stringify(toHfConfig(config, options), null, 2)}\n`);
}

function sortKeys(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
