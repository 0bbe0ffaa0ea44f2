// The Llama family (Hugging Face's LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM,
// Qwen3ForCausalLM, Olmo2ForCausalLM, GemmaForCausalLM, Gemma2ForCausalLM,
// Gemma3ForCausalLM (text), Phi3ForCausalLM; SmolLM is a Llama). Letters: B batch, T sequence,
// C width, H query heads, G key/value heads, D head size, I MLP width, V vocabulary.
//
//   x = embed_tokens[ids]                                        (Gemma: · √C)
//   per block (Llama, 'pre' norms):
//       x = x + o_proj(attn(rope(q_proj h), rope(k_proj h), v_proj h)),   h = rms(x)
//       x = x + down_proj(act(gate_proj h) ⊙ up_proj h),                   h = rms(x)
//   logits = rms(x) · lm_head  (or · embed_tokensᵀ when tied)    (Gemma 2: c·tanh(logits/c))
//
// The variants (model-config.ts DecoderVariant) switch parts of this: q/k RMSNorm per head before
// RoPE (Qwen 3, Gemma 3) or over the whole projection (OLMo 2); the norms after the sublayers
// (OLMo 2: x + norm(f(x))) or on both sides (Gemma 2/3: x + norm(f(norm x))); RMSNorm · (1 + w)
// (Gemma); attention scale and soft-capping (Gemma 2); a sliding window per layer and a second
// RoPE base for the windowed layers (Gemma 3); q, k, v and gate, up fused in one projection
// each (Phi-3); partial rotary. Qwen2 adds q/k/v biases, Llama may have attention/MLP biases.
// Parameters keep Hugging Face's names; every nn.Linear weight is held as [in, out] (transposed
// once when loading and saving).

import { ShapeError } from '../engine/errors.ts';
import type { Graph, Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { ACTIVATIONS } from '../nn/activations.ts';
import { attentionBias, MASKED, selfAttention, softcap } from '../nn/attention.ts';
import { gatedMlp } from '../nn/mlp.ts';
import { rmsNorm } from '../nn/norms.ts';
import type { ParamTable } from '../nn/param-binding.ts';
import { ropeAngles, type RopeAngles, type RopeSpec } from '../nn/rope.ts';
import { layerWindow, variantOf, type LlamaConfig } from './formats/model-config.ts';
import { cacheLayer, ForwardContext, type ForwardOptions, type ForwardOutput, type LoraState } from './forward.ts';

/** The RoPE of layers with full attention (`local` false) or a sliding window (Gemma 3's local base, unscaled). */
export function ropeSpec(config: LlamaConfig, local = false): RopeSpec {
  const v = variantOf(config);
  const rotaryDim = Math.floor(config.headDim * v.partialRotary);
  if (local && v.localRopeTheta !== null) return { theta: v.localRopeTheta, rotaryDim };
  return { theta: config.ropeTheta, rotaryDim, scaling: config.ropeScaling ?? null };
}

/**
 * Positions the RoPE tables of a forward pass cover: `maxLength` when given, else the sequence
 * length when it is a number and positions are 0..T−1, else the model's context.
 */
export function ropeLength(config: LlamaConfig, T: Tensor['shape'][number], options: ForwardOptions): number {
  if (options.maxLength !== undefined) return options.maxLength;
  if (typeof T === 'number' && !options.positionIds && !options.cache) return T;
  return config.maxPositions;
}

/** Adds the Llama-family forward pass for `inputIds` (int64 [B, T]) to `g`. */
export function llamaForward(
  g: Graph,
  config: LlamaConfig,
  params: ParamTable,
  lora: LoraState | null,
  inputIds: Tensor,
  options: ForwardOptions = {},
): ForwardOutput {
  const ctx = new ForwardContext(g, config, params, lora, options);
  const { p } = ctx;
  const v = variantOf(config);
  const [, T] = inputIds.shape;
  const eps = config.normEps;
  const offset = v.normOffset ? 1 : 0;
  const norm = (x: Tensor, name: string) => rmsNorm(x, p.get(name), eps, offset);
  const act = ACTIVATIONS[config.activation];
  let x = ctx.embed('model.embed_tokens.weight', inputIds); // [B, T, C]
  if (v.embedScale) x = o.mul(x, Math.fround(Math.sqrt(config.hiddenSize)));
  ctx.boundary(x);
  const positions = options.positionIds ?? o.range(g, T); // [T] or [B, T]
  const length = ropeLength(config, T, options);
  const ropes = new Map<boolean, RopeAngles>();
  const rope = (local: boolean): RopeAngles => {
    const key = local && v.localRopeTheta !== null;
    let r = ropes.get(key);
    if (!r) ropes.set(key, (r = ropeAngles(g, positions, length, config.headDim, ropeSpec(config, key)))); // [T, R] or [B, T, R]
    return r;
  };
  const biases = new Map<number | null, Tensor>();
  const biasFor = (window: number | null): Tensor => {
    let b = biases.get(window);
    if (b) return b;
    const cache = options.cache;
    if (cache) {
      if (window === null || config.slidingWindow === window) return cache.bias; // [B, T, L]: the host hides what every layer must not see
      // One layer's window while decoding: also hide the slots at or before slot − window.
      if (!cache.slot) throw new ShapeError('llamaForward: a per-layer sliding window needs the cache slot (KvCache.slot) while decoding');
      const slots = o.range(g, cache.bias.shape[2]); // [L]
      const old = o.lessOrEqual(slots, o.sub(cache.slot, window));
      b = o.add(cache.bias, o.where(old, g.scalar(MASKED), g.scalar(0))); // [B, T, L]
      biases.set(window, b);
      return b;
    }
    if (!b) biases.set(window, (b = attentionBias(x, T, { slidingWindow: window, attentionMask: options.attentionMask }))); // [T, T] or [B, T, T]
    return b;
  };
  const H = config.numHeads;
  const G = config.numKvHeads;
  const D = config.headDim;
  const hidden: Tensor[] = [];
  const kv: { k: Tensor; v: Tensor }[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const l = `model.layers.${i}.`;
    const a = `${l}self_attn.`;
    const h1 = v.norms === 'post' ? x : norm(x, `${l}input_layernorm.weight`);
    let q: Tensor, k: Tensor, val: Tensor; // [B, T, H·D], [B, T, G·D], [B, T, G·D]
    if (v.fused) [q, k, val] = o.split(ctx.linear(h1, `${a}qkv_proj`), [H * D, G * D, G * D], -1);
    else [q, k, val] = [ctx.linear(h1, `${a}q_proj`), ctx.linear(h1, `${a}k_proj`), ctx.linear(h1, `${a}v_proj`)];
    if (v.qkNorm === 'full') [q, k] = [norm(q, `${a}q_norm.weight`), norm(k, `${a}k_norm.weight`)];
    const window = layerWindow(config, i);
    const heads = {
      numHeads: H, numKvHeads: G, headDim: D, scale: v.queryScale ?? undefined, softcap: v.attnSoftcap,
      ...(v.qkNorm === 'head' ? { normQ: (t: Tensor) => norm(t, `${a}q_norm.weight`), normK: (t: Tensor) => norm(t, `${a}k_norm.weight`) } : {}),
    };
    const att = selfAttention(q, k, val, biasFor(window), heads, rope(window !== null), cacheLayer(options, config, i));
    let y = ctx.linear(att.y, `${a}o_proj`);
    if (v.norms !== 'pre') y = norm(y, `${l}post_attention_layernorm.weight`);
    x = o.add(x, y);
    const h2 = v.norms === 'pre' ? norm(x, `${l}post_attention_layernorm.weight`) : v.norms === 'sandwich' ? norm(x, `${l}pre_feedforward_layernorm.weight`) : x;
    const proj = (name: string) => (t: Tensor) => ctx.linear(t, `${l}mlp.${name}`);
    let m: Tensor;
    if (v.fused) {
      const [gate, up] = o.split(ctx.linear(h2, `${l}mlp.gate_up_proj`), [config.intermediateSize, config.intermediateSize], -1);
      m = ctx.linear(o.mul(act(gate), up), `${l}mlp.down_proj`);
    } else {
      m = gatedMlp(h2, proj('gate_proj'), proj('up_proj'), proj('down_proj'), act);
    }
    if (v.norms !== 'pre') m = norm(m, `${l}post_feedforward_layernorm.weight`);
    x = o.add(x, m);
    if (options.perturb?.layer === i) x = o.add(x, options.perturb.delta);
    hidden.push(ctx.boundary(x));
    kv.push({ k: att.k, v: att.v });
  }
  const xf = norm(x, 'model.norm.weight');
  const logits = config.tieWordEmbeddings ? ctx.head(xf, 'model.embed_tokens.weight', true) : ctx.head(xf, 'lm_head', false); // [B, T, V]
  return ctx.output(softcap(logits, v.finalSoftcap), hidden, kv);
}
