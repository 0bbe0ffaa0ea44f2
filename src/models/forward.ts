// What every architecture's forward pass takes and gives, and the projection helper they share
// (a linear layer by module name, with its LoRA adapter when the model has one).
//
// Decoding with a static KV cache (models/generate.ts) passes `cache`: each layer attends over
// its cache's L slots (under the cache's bias) and this call's keys, written into the cache or
// attended beside it; `kv` then returns the updated caches or the new keys and values.

import { isHalf } from '../engine/dtype.ts';
import { ShapeError } from '../engine/errors.ts';
import type { Graph, Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import type { ModelConfig } from './formats/model-config.ts';
import type { KvCacheLayer } from '../nn/attention.ts';
import { embedding } from '../nn/embedding.ts';
import { headSlice, registerHead, type SlicedHead } from '../nn/head.ts';
import { linear } from '../nn/linear.ts';
import { loraDelta, type LoraOptions } from '../nn/lora.ts';
import { ParamBinding, type ParamTable } from '../nn/param-binding.ts';

export interface ForwardOptions {
  /** Each token's position, int64 [B, T] or [T]; default 0..T−1. Left-padded rows start later. */
  positionIds?: Tensor;
  /** [B, T], 1 (or true) for real tokens, 0 for padding: padded keys are hidden from every query. */
  attentionMask?: Tensor;
  /** Training mode: turns on LoRA dropout (fed through the `lora.dropout_seed` input). Default false. */
  training?: boolean;
  /** Tensors to use for some parameters instead of new graph inputs, e.g. a previous forward's `params`. */
  params?: ReadonlyMap<string, Tensor>;
  /** Prefix of the parameter input names, to hold two models in one graph. Default none. */
  prefix?: string;
  /** Longest position the RoPE tables cover (baked into the program); default config.maxPositions. */
  maxLength?: number;
  /** The int64 [] LoRA dropout seed of another pass in the same graph, to share instead of adding a second input. */
  dropoutSeed?: Tensor | null;
  /** Added to the residual stream after block `layer` ([B, T, C]): adversarial unlearning's attack on hidden states. */
  perturb?: { layer: number; delta: Tensor };
  /** A static KV cache to attend over (decoding); see KvCache. */
  cache?: KvCache;
  /**
   * Gradient checkpointing: each block's activations are recomputed in the backward pass from its
   * input instead of kept (engine/autodiff.ts); about one more forward pass of compute for a
   * block's worth of activations at a time instead of all of them. Default false.
   */
  gradientCheckpointing?: boolean;
  /** Bytes of float32 a 16-bit output head is widened in at a time; default HEAD_SLICE_BYTES (see ForwardContext.head). */
  headSliceBytes?: number;
}

/** A static KV cache for one forward pass: per-layer caches, how to write them, and their bias. */
export interface KvCache {
  /** Per layer, keys (after RoPE) and values before this call, [B, G, L, D]. */
  layers: { k: Tensor; v: Tensor }[];
  /**
   * Writes a layer's new keys or values [B, G, T, D] into its cache [B, G, L, D]; `kv` is then the
   * updated caches. Without it the new keys and values are attended beside the cache and `kv` is them.
   */
  write?: (cache: Tensor, fresh: Tensor) => Tensor;
  /** Additive bias of the T queries over the L slots, [B, T, L]; replaces the causal/padding bias. */
  bias: Tensor;
  /** int64 []: the slot this (one-token) step fills; needed by layers with their own sliding window (Gemma 2/3). */
  slot?: Tensor;
}

/** Layer i's part of `options.cache`, if any. */
export function cacheLayer(options: ForwardOptions, config: ModelConfig, i: number): KvCacheLayer | undefined {
  const cache = options.cache;
  if (!cache) return undefined;
  if (cache.layers.length !== config.numLayers) throw new ShapeError(`forward: the KV cache has ${cache.layers.length} layers, the model ${config.numLayers}`);
  return { ...cache.layers[i], write: cache.write };
}

export interface ForwardOutput {
  /** [B, T, V] next-token logits. */
  logits: Tensor;
  /** hidden[ℓ]: [B, T, C], the residual stream after block ℓ (RMU's h). HF's hidden_states[ℓ + 1],
   *  except for the last block, which HF reports after the final norm. */
  hidden: Tensor[];
  /** Every parameter the pass reads, by name: its graph input (or the tensor given). */
  params: Map<string, Tensor>;
  /** int64 [] graph input to feed a fresh value per step when LoRA dropout is on; else null. */
  dropoutSeed: Tensor | null;
  /** Per layer, keys and values [B, T, G, D] (after RoPE): what a KV cache stores. With `cache`: [B, G, ·, D], the updated caches or the new keys and values (see KvCache.write). */
  kv: { k: Tensor; v: Tensor }[];
}

/** Bytes of float32 weights a 16-bit output head is widened in at a time (ForwardContext.head). */
export const HEAD_SLICE_BYTES = 64 * 2 ** 20;

/** LoRA adapters of a model: settings and the adapted linear modules. */
export interface LoraState {
  options: LoraOptions;
  /** Adapted modules, e.g. "model.layers.0.self_attn.q_proj"; params hold `${module}.lora_A.weight` [in, r] and `.lora_B.weight` [r, out]. */
  modules: string[];
}

export const loraAName = (module: string): string => `${module}.lora_A.weight`;
export const loraBName = (module: string): string => `${module}.lora_B.weight`;

/** Parameters of one forward pass and the projection layer built on them. */
export class ForwardContext {
  readonly p: ParamBinding;
  readonly dropoutSeed: Tensor | null;
  private readonly adapted: Map<string, number>;

  constructor(
    readonly graph: Graph,
    readonly config: ModelConfig,
    table: ParamTable,
    private readonly lora: LoraState | null,
    readonly options: ForwardOptions,
  ) {
    this.p = new ParamBinding(graph, table, { prefix: options.prefix, given: options.params });
    this.adapted = new Map((lora?.modules ?? []).map((m, i) => [m, i]));
    const withDropout = lora !== null && options.training === true && lora.options.dropout > 0;
    this.dropoutSeed = withDropout ? (options.dropoutSeed ?? graph.input(`${options.prefix ?? ''}lora.dropout_seed`, 'int64', [])) : null;
  }

  /** x·W (+ b) (+ LoRA update) for the linear module `module` ("…q_proj"): [..., in] → [..., out]. */
  linear(x: Tensor, module: string): Tensor {
    const y = linear(x, this.p.getAfter(`${module}.weight`, x), this.p.maybe(`${module}.bias`));
    const salt = this.adapted.get(module);
    if (salt === undefined || !this.lora) return y;
    const { r, alpha, dropout } = this.lora.options;
    const drop = this.dropoutSeed ? { rate: dropout, seed: this.dropoutSeed, salt } : undefined;
    return o.add(y, loraDelta(x, this.p.get(loraAName(module)), this.p.get(loraBName(module)), alpha / r, drop));
  }

  /**
   * Rows `ids` of the embedding table `name` ([N, C] → [..., C]). A 16-bit table is gathered as
   * it is held and only the rows picked are widened, so no float32 copy of the table exists.
   */
  embed(name: string, ids: Tensor): Tensor {
    const table = this.p.raw(name);
    return isHalf(table.dtype) ? o.cast(embedding(table, ids), 'float32') : embedding(this.p.get(name), ids);
  }

  /**
   * The output head's logits [B, T, V]: xf · Eᵀ over the tied embedding `name` [V, C], or the
   * module `name` ([C, V] weight, its bias and LoRA adapter) when untied. A 16-bit weight is
   * widened in slices of about HEAD_SLICE_BYTES, each once the previous slice's logits exist,
   * so a float32 copy of the vocabulary's weights (4·V·C bytes; 1 GiB for Llama-3.2-1B) never
   * exists, in the forward pass or the backward one (the matmul rule re-widens the slice). The
   * head is registered with the logits (nn/head.ts): a loss that needs only log p(label) takes it
   * slice by slice, and the [B, T, V] logits are then never computed.
   */
  head(xf: Tensor, name: string, tied: boolean): Tensor {
    const weight = tied ? name : `${name}.weight`;
    const w = this.p.raw(weight);
    if (!tied && this.adapted.has(name)) return this.linear(xf, name);
    const axis = tied ? 0 : 1;
    const V = w.shape[axis] as number;
    const C = w.shape[1 - axis] as number;
    const bias = tied ? undefined : this.p.maybe(`${name}.bias`);
    const spec: SlicedHead = { xf, weight: w, tied, bias, rows: Math.max(1, Math.floor((this.options.headSliceBytes ?? HEAD_SLICE_BYTES) / (4 * C))) };
    let logits: Tensor;
    if (!isHalf(w.dtype)) {
      logits = tied ? o.matmul(xf, this.p.get(weight), { transB: true }) : this.linear(xf, name);
    } else {
      const parts: Tensor[] = [];
      for (let a = 0; a < V; a += spec.rows) parts.push(headSlice({ ...spec, bias: undefined }, xf, parts.at(-1) ?? xf, a, Math.min(V, a + spec.rows)));
      logits = parts.length === 1 ? parts[0] : o.concat(parts, -1);
      if (bias) logits = o.add(logits, bias);
    }
    registerHead(logits, spec);
    return logits;
  }

  /** `x`, a block boundary: a checkpoint of the graph when the pass checkpoints (gradientCheckpointing). */
  boundary(x: Tensor): Tensor {
    if (this.options.gradientCheckpointing) this.graph.checkpoints.push(x);
    return x;
  }

  output(logits: Tensor, hidden: Tensor[], kv: { k: Tensor; v: Tensor }[]): ForwardOutput {
    return { logits, hidden, params: this.p.tensors, dropoutSeed: this.dropoutSeed, kv };
  }
}
