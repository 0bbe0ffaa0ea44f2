// The one model description the model code reads, whatever file it came from (config.json,
// a llama2.c header). Field comments say what each size trades off, nanoGPT-style.
import type { RopeScaling } from '../../nn/rope.ts';

export type { RopeScaling } from '../../nn/rope.ts';

/** Architectures lethe runs: GPT-2, the Llama family (Llama, SmolLM, Qwen2, Mistral, Qwen3, OLMo 2, Gemma 1/2/3, Phi-3), GPT-NeoX (Pythia), Phi-1.5/2 and OPT. */
export type ModelType = 'gpt2' | LlamaModelType | LayerNormModelType;

/** config.json model_type of the decoders with biased LayerNorms and a plain MLP. */
export type LayerNormModelType = 'gpt_neox' | 'phi' | 'opt';

/** config.json model_type of the Llama-family decoders (RoPE, RMSNorm, gated MLP). */
export type LlamaModelType = 'llama' | 'qwen2' | 'mistral' | 'qwen3' | 'olmo2' | 'gemma' | 'gemma2' | 'gemma3_text' | 'phi3';

/** gelu_tanh is GELU's tanh approximation (HF `gelu_new`, `gelu_pytorch_tanh`); gelu is the erf form. */
export type Activation = 'gelu_tanh' | 'gelu' | 'relu' | 'silu';

interface BaseConfig {
  modelType: ModelType;
  /** Tokens the embedding (and output layer) know, e.g. 50257 (GPT-2), 49152 (SmolLM). Two V×d
   *  tables: for small models most of the parameters. */
  vocabSize: number;
  /** Width d of the residual stream. Cost grows ~d² per token per layer. */
  hiddenSize: number;
  /** Transformer blocks. Depth: compute and parameters grow linearly. */
  numLayers: number;
  /** Query heads; numHeads · headDim is the attention width (usually = hiddenSize). */
  numHeads: number;
  /** Key/value heads (GQA): fewer shrink the KV cache, numHeads / numKvHeads queries share one. */
  numKvHeads: number;
  /** Width of one head (usually hiddenSize / numHeads; even, for RoPE's pairs). */
  headDim: number;
  /** MLP inner width: 4d for GPT-2, ~8d/3 rounded for Llama's gated MLP. */
  intermediateSize: number;
  /** Longest sequence: GPT-2's learned position table size; for RoPE models the trained length. */
  maxPositions: number;
  /** LayerNorm (GPT-2) or RMSNorm (Llama) epsilon: guards 1/sqrt(var + eps). */
  normEps: number;
  /** Output layer reuses the embedding matrix: V·d fewer parameters, one less table to unlearn. */
  tieWordEmbeddings: boolean;
  /** Biases on the q, k, v projections (GPT-2, Qwen2, Llama with attention_bias). */
  qkvBias: boolean;
  /** Bias on the attention output projection (GPT-2, Llama with attention_bias). */
  outBias: boolean;
  /** Biases in the MLP (GPT-2, Llama with mlp_bias). */
  mlpBias: boolean;
  /** MLP nonlinearity: GPT-2 `x → act(x W1) W2`; Llama family `down(act(gate x) · up x)`. */
  activation: Activation;
  bosTokenId: number | null;
  /** One id or several (some chat models end on any of a few). */
  eosTokenId: number | number[] | null;
}

/** GPT-2: learned positions, pre-LayerNorm with biases, Conv1D weights stored [in, out]. */
export interface Gpt2Config extends BaseConfig {
  family: 'gpt2';
  modelType: 'gpt2';
}

/** Llama family: RoPE (rotate_half layout), RMSNorm, gated SiLU MLP, grouped-query attention. */
export interface LlamaConfig extends BaseConfig {
  family: 'llama';
  modelType: LlamaModelType;
  /** RoPE base θ: frequencies θ^(-2i/headDim). Larger θ (1e6 in Qwen2) stretches to longer contexts. */
  ropeTheta: number;
  /** Sliding-window attention span of every layer (Mistral, Phi-3), or null for full causal attention. */
  slidingWindow: number | null;
  /** RoPE scaling (Llama 3.1 `llama3`, linear, dynamic, YaRN, Phi-3 longrope); absent or null: none. */
  ropeScaling?: RopeScaling | null;
  /** How the family departs from Llama; absent: plain Llama. */
  variant?: DecoderVariant;
}

/**
 * The departures from Llama's block of the other decoders, each field a formula switch:
 * Qwen 3 (per-head q/k RMSNorm), OLMo 2 (norms after the sublayers, q/k RMSNorm over the whole
 * projection), Gemma (√d embedding scale, RMSNorm with 1 + w, GeGLU), Gemma 2 (norms before and
 * after each sublayer, soft-capping, alternating sliding windows), Gemma 3 text (q/k norms,
 * local/global RoPE bases), Phi-3 (fused qkv_proj and gate_up_proj).
 */
export interface DecoderVariant {
  /** q/k RMSNorm: 'head' over each head's D (Qwen 3, Gemma 3: q_norm [D]), 'full' over the whole projection (OLMo 2: q_norm [H·D]). */
  qkNorm: 'none' | 'head' | 'full';
  /** 'pre': x + f(norm x) (Llama); 'post': x + norm(f x) (OLMo 2); 'sandwich': x + norm(f(norm x)) (Gemma 2/3). */
  norms: 'pre' | 'post' | 'sandwich';
  /** RMSNorm multiplies by (1 + w) instead of w (Gemma; weights stored around 0). */
  normOffset: boolean;
  /** Embeddings multiplied by √hiddenSize (Gemma), rounded to float32 as HF does. */
  embedScale: boolean;
  /** Attention scores scaled by this instead of 1/√headDim (Gemma 2/3: query_pre_attn_scalar^−½). */
  queryScale: number | null;
  /** Attention scores s → c·tanh(s/c) before the mask (Gemma 2), or null. */
  attnSoftcap: number | null;
  /** Logits z → c·tanh(z/c) (Gemma 2), or null. */
  finalSoftcap: number | null;
  /** Per layer, its sliding window or null (full attention); replaces slidingWindow when set (Gemma 2/3). */
  layerWindows: (number | null)[] | null;
  /** RoPE base of the sliding-window layers (Gemma 3's rope_local_base_freq; no scaling there), or null: ropeTheta. */
  localRopeTheta: number | null;
  /** q, k, v in one `qkv_proj` and gate, up in one `gate_up_proj` (Phi-3). */
  fused: boolean;
  /** Fraction of each head's dimensions RoPE rotates (partial_rotary_factor); 1 for all. */
  partialRotary: number;
}

/** Plain Llama: what an absent `variant` means. */
export const LLAMA_VARIANT: DecoderVariant = {
  qkNorm: 'none', norms: 'pre', normOffset: false, embedScale: false, queryScale: null, attnSoftcap: null,
  finalSoftcap: null, layerWindows: null, localRopeTheta: null, fused: false, partialRotary: 1,
};

/** The variant of a Llama-family config (defaults filled in). */
export function variantOf(config: LlamaConfig): DecoderVariant {
  return config.variant ?? LLAMA_VARIANT;
}

/** Layer i's sliding window (null: full causal attention). */
export function layerWindow(config: LlamaConfig, i: number): number | null {
  const windows = variantOf(config).layerWindows;
  return windows ? windows[i] : config.slidingWindow;
}

/**
 * GPT-NeoX / Pythia (fused per-head query_key_value, parallel residual x + attn(ln₁ x) + mlp(ln₂ x),
 * partial rotary), Phi-1.5/2 (one LayerNorm feeding attention and MLP in parallel, partial
 * rotary, biased head) and OPT (learned positions offset by 2, ReLU, pre-LayerNorm).
 */
export interface LayerNormDecoderConfig extends BaseConfig {
  family: LayerNormModelType;
  modelType: LayerNormModelType;
  /** RoPE base (GPT-NeoX rotary_emb_base, Phi rope_theta); OPT has learned positions instead. */
  ropeTheta: number;
  /** Fraction of each head RoPE rotates (GPT-NeoX rotary_pct, Phi partial_rotary_factor). */
  partialRotary: number;
  ropeScaling?: RopeScaling | null;
  /** GPT-NeoX's use_parallel_residual: x + attn(ln₁ x) + mlp(ln₂ x) instead of one after the other. */
  parallelResidual: boolean;
}

export type ModelConfig = Gpt2Config | LlamaConfig | LayerNormDecoderConfig;

/** Module names of a LayerNorm decoder (HF's, per family): what tensor names, LoRA and the forward pass share. */
export interface LayerNormLayout {
  embed: string;
  /** OPT's learned positions (rows = maxPositions + 2), else null. */
  positions: string | null;
  /** Prefix of block i's names. */
  layer: (i: number) => string;
  /** The block's first norm, and its second (null: Phi feeds both sublayers from the first). */
  norm1: string;
  norm2: string | null;
  /** GPT-NeoX's fused per-head [q_h, k_h, v_h] projection, or the separate q, k, v ones. */
  qkv: string | [string, string, string];
  out: string;
  up: string;
  down: string;
  finalNorm: string;
  head: string;
}

export const LAYER_NORM_LAYOUTS: Record<LayerNormModelType, LayerNormLayout> = {
  gpt_neox: {
    embed: 'gpt_neox.embed_in', positions: null, layer: (i) => `gpt_neox.layers.${i}.`, norm1: 'input_layernorm', norm2: 'post_attention_layernorm',
    qkv: 'attention.query_key_value', out: 'attention.dense', up: 'mlp.dense_h_to_4h', down: 'mlp.dense_4h_to_h', finalNorm: 'gpt_neox.final_layer_norm', head: 'embed_out',
  },
  phi: {
    embed: 'model.embed_tokens', positions: null, layer: (i) => `model.layers.${i}.`, norm1: 'input_layernorm', norm2: null,
    qkv: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'], out: 'self_attn.dense', up: 'mlp.fc1', down: 'mlp.fc2', finalNorm: 'model.final_layernorm', head: 'lm_head',
  },
  opt: {
    embed: 'model.decoder.embed_tokens', positions: 'model.decoder.embed_positions', layer: (i) => `model.decoder.layers.${i}.`, norm1: 'self_attn_layer_norm', norm2: 'final_layer_norm',
    qkv: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'], out: 'self_attn.out_proj', up: 'fc1', down: 'fc2', finalNorm: 'model.decoder.final_layer_norm', head: 'lm_head',
  },
};

/** OPT's learned positions start at row 2 (rows 0 and 1 were the padding positions of fairseq). */
export const OPT_POSITION_OFFSET = 2;
