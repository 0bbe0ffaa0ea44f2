// Hugging Face `config.json` ⇄ ModelConfig, for GPT-2 and the Llama family.
//
// Defaults are transformers' own for a key that is absent (GPT2Config, LlamaConfig, Qwen2Config,
// MistralConfig), so a config loads here as it would in transformers. Options that change the
// computation and that lethe does not implement (RoPE scaling, Qwen2's per-layer sliding
// window, GPT-2's unscaled or layer-scaled attention) are refused with the field named, never
// silently ignored.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { LetheError } from '../../engine/errors.ts';
import type { Activation, Gpt2Config, LlamaConfig, ModelConfig, ModelType } from './model-config.ts';
import { writeFileAtomic } from './write-file-atomic.ts';

export type { Activation, Gpt2Config, LlamaConfig, ModelConfig, ModelType } from './model-config.ts';

export const CONFIG_FILE = 'config.json';
export const SUPPORTED_MODEL_TYPES: readonly ModelType[] = ['gpt2', 'llama', 'qwen2', 'mistral'];

// Every schema names what it expected, and says "missing" for an absent required key.
const expect = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'missing (required)' : `expected ${what}`),
});
const positiveInt = () => z.number(expect('a positive integer')).int(expect('a positive integer')).positive(expect('a positive integer'));
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
    n_positions: positiveInt(),
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

const llamaSchema = z
  .object({
    model_type: z.enum(['llama', 'qwen2', 'mistral']),
    vocab_size: positiveInt(),
    hidden_size: positiveInt(),
    intermediate_size: positiveInt(),
    num_hidden_layers: positiveInt(),
    num_attention_heads: positiveInt(),
    num_key_value_heads: positiveInt().nullish(),
    head_dim: positiveInt().nullish(),
    max_position_embeddings: positiveInt(),
    rms_norm_eps: positive().default(1e-6),
    rope_theta: positive().default(10000),
    rope_scaling: z.null(expect('null (RoPE scaling is not supported)')).optional(),
    tie_word_embeddings: flag().default(false),
    hidden_act: activation.default('silu'),
    attention_bias: flag().default(false),
    mlp_bias: flag().default(false),
    sliding_window: positiveInt().nullish(),
    use_sliding_window: flag().default(false),
    bos_token_id: tokenIds,
    eos_token_id: tokenIds,
  })
  .superRefine((c, ctx) => {
    const heads = c.num_attention_heads;
    const kv = c.num_key_value_heads ?? heads;
    if (!isPositiveInt(heads) || !isPositiveInt(kv) || !isPositiveInt(c.hidden_size)) return; // already reported
    if (heads % kv !== 0) ctx.addIssue({ code: 'custom', path: ['num_key_value_heads'], message: `must divide num_attention_heads (${heads})` });
    const headDim = c.head_dim ?? c.hidden_size / heads;
    if (!Number.isInteger(headDim)) {
      ctx.addIssue({ code: 'custom', path: ['num_attention_heads'], message: `must divide hidden_size (${c.hidden_size}) when head_dim is not given` });
    } else if (headDim % 2 !== 0) {
      ctx.addIssue({ code: 'custom', path: ['head_dim'], message: `head dimension ${headDim} must be even for RoPE` });
    }
    if (c.model_type === 'qwen2' && c.use_sliding_window) {
      ctx.addIssue({ code: 'custom', path: ['use_sliding_window'], message: 'expected false (per-layer sliding windows are not supported)' });
    }
  });

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
  return llamaFromHf(parseWith(llamaSchema, json, file));
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

function llamaFromHf(c: z.infer<typeof llamaSchema>): LlamaConfig {
  const type = c.model_type;
  // Qwen2 always has q/k/v biases and no others; Mistral has none; Llama follows its flags.
  const qkvBias = type === 'qwen2' || (type === 'llama' && c.attention_bias);
  return {
    family: 'llama',
    modelType: type,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads: c.num_key_value_heads ?? c.num_attention_heads,
    headDim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
    intermediateSize: c.intermediate_size,
    maxPositions: c.max_position_embeddings,
    normEps: c.rms_norm_eps,
    tieWordEmbeddings: c.tie_word_embeddings,
    qkvBias,
    outBias: type === 'llama' && c.attention_bias,
    mlpBias: type === 'llama' && c.mlp_bias,
    activation: ACTIVATIONS[c.hidden_act],
    ropeTheta: c.rope_theta,
    // MistralConfig's default window is 4096 when the key is absent; null turns it off.
    slidingWindow: type === 'mistral' ? (c.sliding_window === undefined ? 4096 : c.sliding_window) : null,
    bosTokenId: firstId(c.bos_token_id),
    eosTokenId: c.eos_token_id ?? null,
  };
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
};

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
  const type = config.modelType;
  const biases = type === 'qwen2' ? [true, false, false] : type === 'mistral' ? [false, false, false] : undefined;
  if (biases && (config.qkvBias !== biases[0] || config.outBias !== biases[1] || config.mlpBias !== biases[2])) {
    throw cannot(`qkvBias ${config.qkvBias}, outBias ${config.outBias}, mlpBias ${config.mlpBias}`);
  }
  if (type === 'llama' && config.qkvBias !== config.outBias) throw cannot('q/k/v biases without the output bias (attention_bias covers both)');
  if (type !== 'mistral' && config.slidingWindow !== null) throw cannot('a sliding window');
  const hf: Record<string, unknown> = {
    ...common,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    max_position_embeddings: config.maxPositions,
    rms_norm_eps: config.normEps,
    rope_theta: config.ropeTheta,
    rope_scaling: null,
    hidden_act: config.activation === 'gelu_tanh' ? 'gelu_pytorch_tanh' : config.activation,
  };
  if (type === 'llama') Object.assign(hf, { attention_bias: config.qkvBias, mlp_bias: config.mlpBias });
  if (type === 'mistral') hf.sliding_window = config.slidingWindow;
  if (type === 'qwen2') Object.assign(hf, { use_sliding_window: false, sliding_window: null });
  return sortKeys(hf);
}

/** Writes `dir/config.json` (keys sorted, as save_pretrained does) atomically. */
export async function writeConfig(dir: string, config: ModelConfig, options: WriteConfigOptions = {}): Promise<void> {
  await writeFileAtomic(join(dir, CONFIG_FILE), `${JSON.stringify(toHfConfig(config, options), null, 2)}\n`);
}

function sortKeys(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
