// Configurations for models trained from scratch, nanoGPT-style: each field says what it
// trades off. The vocabulary comes from the tokenizer, so it is given when the preset is used.
//
//   const model = createModel(presetConfig('tiny', { vocabSize: tokenizer.vocabSize }), { seed: 1 });

import { LetheError } from '../engine/errors.ts';
import { MAX_ROPE_POSITIONS } from '../nn/rope.ts';
import type { Gpt2Config, LlamaConfig, ModelConfig } from './formats/model-config.ts';

/** For tests: a Llama-family model small enough to compile and run in milliseconds. */
const tiny: LlamaConfig = {
  family: 'llama',
  modelType: 'llama',
  vocabSize: 256, // replaced by the tokenizer's size
  hiddenSize: 64, // width: cost ~ d² per token per layer
  numLayers: 2, // depth
  numHeads: 4, // head size 16
  numKvHeads: 2, // grouped-query attention exercised even here
  headDim: 16,
  intermediateSize: 176, // ~8d/3, rounded to a multiple of 16, as Llama sizes its gated MLP
  maxPositions: 128, // longest sequence (RoPE tables cover it)
  normEps: 1e-5,
  tieWordEmbeddings: true, // small models: the embedding is most of the parameters
  qkvBias: false,
  outBias: false,
  mlpBias: false,
  activation: 'silu',
  ropeTheta: 10000,
  slidingWindow: null,
  bosTokenId: null,
  eosTokenId: null,
};

/** For the CPU demo: trains on TOFU-sized data in minutes on two cores (~1.6M parameters in the blocks, plus the embedding). */
const small: LlamaConfig = {
  ...tiny,
  hiddenSize: 192,
  numLayers: 4,
  numHeads: 6, // head size 32
  numKvHeads: 2,
  headDim: 32,
  intermediateSize: 512,
  maxPositions: 512,
};

/** GPT-2 small's shape (124M parameters with its 50257-token vocabulary): for benchmarks. */
const gpt2Small: Gpt2Config = {
  family: 'gpt2',
  modelType: 'gpt2',
  vocabSize: 50257,
  hiddenSize: 768,
  numLayers: 12,
  numHeads: 12,
  numKvHeads: 12, // GPT-2 has no grouped-query attention
  headDim: 64,
  intermediateSize: 3072, // 4d
  maxPositions: 1024, // learned position table
  normEps: 1e-5,
  tieWordEmbeddings: true,
  qkvBias: true,
  outBias: true,
  mlpBias: true,
  activation: 'gelu_tanh', // "gelu_new"
  bosTokenId: 50256,
  eosTokenId: 50256,
};

export const PRESETS = { tiny, small, 'gpt2-124m': gpt2Small } as const satisfies Record<string, ModelConfig>;

export type PresetName = keyof typeof PRESETS;

/** A preset's config with some fields replaced (usually vocabSize, bosTokenId, eosTokenId). */
export function presetConfig(name: string, overrides: Partial<Pick<ModelConfig, 'vocabSize' | 'bosTokenId' | 'eosTokenId' | 'maxPositions'>> = {}): ModelConfig {
  if (!Object.hasOwn(PRESETS, name)) throw new LetheError(`unknown model preset "${name}" (presets: ${Object.keys(PRESETS).join(', ')})`);
  const max = overrides.maxPositions;
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 2 || max > MAX_ROPE_POSITIONS)) {
    throw new LetheError(`model preset "${name}": maxPositions must be an integer in [2, ${MAX_ROPE_POSITIONS}], got ${max}`);
  }
  const vocab = overrides.vocabSize;
  if (vocab !== undefined && (!Number.isSafeInteger(vocab) || vocab < 1)) throw new LetheError(`model preset "${name}": vocabSize must be a positive integer, got ${vocab}`);
  return { ...PRESETS[name as PresetName], ...overrides };
}
