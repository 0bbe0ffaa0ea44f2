// The one model description the model code reads, whatever file it came from (config.json,
// a llama2.c header). Field comments say what each size trades off, nanoGPT-style.

/** Architectures lethe runs: GPT-2, and the Llama family (Llama, SmolLM, Qwen2, Mistral). */
export type ModelType = 'gpt2' | 'llama' | 'qwen2' | 'mistral';

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
  modelType: 'llama' | 'qwen2' | 'mistral';
  /** RoPE base θ: frequencies θ^(-2i/headDim). Larger θ (1e6 in Qwen2) stretches to longer contexts. */
  ropeTheta: number;
  /** Mistral's sliding-window attention span, or null for full causal attention. */
  slidingWindow: number | null;
}

export type ModelConfig = Gpt2Config | LlamaConfig;
