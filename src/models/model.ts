// A model = its config + its parameter table (HF names → float32 values in the engine's layout,
// linear weights [in, out]) + optional LoRA adapters. `forward` adds the model to any graph, so
// the same model serves training steps, scoring passes and (later) decode steps.
//
//   const g = new Graph();
//   const ids = g.input('input_ids', 'int64', ['B', 'T']);
//   const { logits, params } = model.forward(g, ids);          // logits [B, T, V]
//   const program = compile([ids, ...params.values()], { logits });
//   await program.run({ input_ids, ...model.feeds() });

import { isHalf, type HostTensor } from '../engine/dtype.ts';
import { LetheError, ShapeError } from '../engine/errors.ts';
import type { Graph, Tensor } from '../engine/graph.ts';
import { Rng } from '../engine/random.ts';
import type { ParamTable } from '../nn/param-binding.ts';
import { bf16ToF32, f16ToF32 } from './formats/half-float.ts';
import { expectedTensorShapes } from './formats/tensor-shapes.ts';
import type { ModelConfig } from './formats/model-config.ts';
import { loraAName, loraBName, type ForwardOptions, type ForwardOutput, type LoraState } from './forward.ts';
import { gpt2Forward } from './gpt2.ts';
import { isHfLinearWeight } from './hf-layout.ts';
import { layerNormDecoderForward } from './layernorm-decoder.ts';
import { llamaForward } from './llama.ts';

export type { ForwardOptions, ForwardOutput, LoraState } from './forward.ts';

/** Where a model was loaded from: save copies its tokenizer files and keeps its config's extra keys. */
export interface ModelSource {
  /** The folder (or the llama2.c file's folder). Never written. */
  dir: string;
  /** config.json as read (null for llama2.c). */
  hfConfig: Record<string, unknown> | null;
  /** A llama2.c tokenizer file the model was loaded with; saveModel copies it as tokenizer.bin. */
  llama2cTokenizer?: string;
  /** A Hugging Face tokenizer folder named apart from the model (--tokenizer): saveModel copies the tokenizer files from it. */
  tokenizerDir?: string;
  /** generation_config.json's eos_token_id(s): each ends generation too (Llama 3's <|eot_id|>). */
  generationEos?: number[];
  /** How most of the checkpoint's weights were stored (by values): saveModel's default dtype. */
  storedDtype?: 'F32' | 'F16' | 'BF16';
}

export class Model {
  constructor(
    readonly config: ModelConfig,
    /**
     * HF name → value: float32, or bfloat16/float16 for frozen weights kept at the checkpoint's
     * precision (loadModel's precision 'checkpoint'); linear weights [in, out]; LoRA adapters
     * (float32) under `….lora_A.weight` / `….lora_B.weight`.
     */
    readonly params: Map<string, HostTensor>,
    readonly lora: LoraState | null = null,
    readonly source: ModelSource | null = null,
  ) {}

  /** Adds the forward pass for `inputIds` (int64 [B, T], B and T may be symbolic) to `g`. */
  forward(g: Graph, inputIds: Tensor, options: ForwardOptions = {}): ForwardOutput {
    if (inputIds.dtype !== 'int64' || inputIds.rank !== 2) throw new ShapeError(`model forward: input ids must be int64 [B, T], got ${inputIds}`);
    const table: ParamTable = this.params;
    const c = this.config;
    if (c.family === 'gpt2') return gpt2Forward(g, c, table, this.lora, inputIds, options);
    if (c.family === 'llama') return llamaForward(g, c, table, this.lora, inputIds, options);
    return layerNormDecoderForward(g, c, table, this.lora, inputIds, options);
  }

  /** The parameters an optimiser updates: the LoRA adapters when there are any, else all. */
  trainableNames(): string[] {
    if (!this.lora) return [...this.params.keys()];
    return this.lora.modules.flatMap((m) => [loraAName(m), loraBName(m)]);
  }

  /** The HF tensors (every parameter but the adapters), in HF order. */
  baseNames(): string[] {
    return [...expectedTensorShapes(this.config).keys()];
  }

  /** Program feeds for the parameters under their graph input names (views, no copies). */
  feeds(prefix = ''): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    for (const [name, value] of this.params) out[prefix + name] = value;
    return out;
  }

  /**
   * The model with the parameters `names` (default all) as float32: weights kept at the
   * checkpoint's precision (bfloat16/float16) widened exactly, e.g. before they are trained or
   * differentiated. Other parameters are shared, not copied.
   */
  widened(names: Iterable<string> = this.params.keys()): Model {
    const params = new Map(this.params);
    let changed = false;
    for (const n of names) {
      const t = params.get(n);
      if (t && isHalf(t.dtype)) {
        params.set(n, widenWeight(t));
        changed = true;
      }
    }
    return changed ? new Model(this.config, params, this.lora, this.source) : this;
  }

  /** Number of scalars in the parameters (adapters included). */
  get size(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.data.length;
    return n;
  }
}

/** A weight as float32: bfloat16/float16 bit patterns widened (exactly); float32 as it is. */
export function widenWeight(t: HostTensor): HostTensor {
  if (!isHalf(t.dtype)) return t;
  const bits = t.data as Uint16Array;
  return { dtype: 'float32', shape: [...t.shape], data: t.dtype === 'bfloat16' ? bf16ToF32(bits) : f16ToF32(bits) };
}

/** Largest tensor createModel makes (2^30 float32 values, 4 GB): beyond it a size is a typo. */
const MAX_TENSOR_VALUES = 2 ** 30;

export interface CreateModelOptions {
  /** Seed of the initial weights. Default 0. */
  seed?: number;
  /** Standard deviation of the weight matrices and embeddings (HF initializer_range). Default 0.02. */
  initStd?: number;
}

/**
 * A freshly initialised model: matrices and embeddings N(0, std²) (GPT-2 also scales its
 * residual projections by 1/√(2·layers), as the GPT-2 paper and nanoGPT do), biases 0, norm
 * weights 1.
 */
export function createModel(config: ModelConfig, options: CreateModelOptions = {}): Model {
  const rng = new Rng(options.seed ?? 0);
  const std = options.initStd ?? 0.02;
  const params = new Map<string, HostTensor>();
  for (const [name, hfShape] of expectedTensorShapes(config)) {
    const shape = isHfLinearWeight(config, name) ? [hfShape[1], hfShape[0]] : [...hfShape];
    const n = shape.reduce((a, b) => a * b, 1);
    if (!(n <= MAX_TENSOR_VALUES)) throw new LetheError(`createModel: ${name} [${shape.join(', ')}] would hold ${n} values, more than ${MAX_TENSOR_VALUES} (check maxPositions, vocabSize and the widths)`);
    let data: Float32Array;
    // Norm weights 1 (Gemma's RMSNorm multiplies by 1 + w: 0 there).
    if (/(ln_\d|ln_f|layernorm|norm)\.weight$/.test(name)) data = new Float32Array(n).fill(config.family === 'llama' && config.variant?.normOffset ? 0 : 1);
    else if (name.endsWith('.bias')) data = new Float32Array(n);
    else {
      const residual = config.family === 'gpt2' && /c_proj\.weight$/.test(name);
      data = rng.normalArray(n, residual ? std / Math.sqrt(2 * config.numLayers) : std);
    }
    params.set(name, { dtype: 'float32', shape, data });
  }
  return new Model(config, params);
}

/**
 * The context a run uses: `requested` (`--context-length`), or the model's maximum positions
 * when none is asked for. lethe builds its positional tables (RoPE, learned positions) for
 * `config.maxPositions` (config.json's max_position_embeddings, llama2.c's seq_len), so a longer
 * context is refused here, naming both numbers, rather than failing later inside a gather.
 * Throws LetheError for a requested length that is not a positive integer or exceeds the model's.
 */
export function resolveContextLength(config: Pick<ModelConfig, 'maxPositions'>, requested?: number): number {
  if (requested === undefined) return config.maxPositions;
  if (!Number.isInteger(requested) || requested < 2) throw new LetheError(`--context-length: must be an integer ≥ 2, got ${requested}`);
  if (requested > config.maxPositions) {
    throw new LetheError(`--context-length ${requested}: longer than the model's maximum of ${config.maxPositions} positions (max_position_embeddings); give at most ${config.maxPositions}`);
  }
  return requested;
}
