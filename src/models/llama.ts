// The Llama family (Hugging Face's LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM;
// SmolLM is a Llama). Letters: B batch, T sequence, C width, H query heads, G key/value heads,
// D head size, I MLP width, V vocabulary.
//
//   x = embed_tokens[ids]
//   per block: x = x + o_proj(attn(rope(q_proj h), rope(k_proj h), v_proj h)), h = rms(x)
//              x = x + down_proj(silu(gate_proj h) ⊙ up_proj h),                h = rms(x)
//   logits = rms(x) · lm_head  (or · embed_tokensᵀ when tied)
//
// Qwen2 adds q/k/v biases, Llama may have attention/MLP biases (config flags); Mistral masks keys
// more than `slidingWindow` back. Parameters keep Hugging Face's names; every nn.Linear weight is
// held as [in, out] (transposed once when loading and saving).

import type { Graph, Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { ACTIVATIONS } from '../nn/activations.ts';
import { attentionBias, selfAttention } from '../nn/attention.ts';
import { embedding } from '../nn/embedding.ts';
import { gatedMlp } from '../nn/mlp.ts';
import { rmsNorm } from '../nn/norms.ts';
import type { ParamTable } from '../nn/param-binding.ts';
import { ropeAngles } from '../nn/rope.ts';
import type { LlamaConfig } from './formats/model-config.ts';
import { cacheLayer, ForwardContext, type ForwardOptions, type ForwardOutput, type LoraState } from './forward.ts';

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
  const [, T] = inputIds.shape;
  const eps = config.normEps;
  const act = ACTIVATIONS[config.activation];
  let x = embedding(p.get('model.embed_tokens.weight'), inputIds); // [B, T, C]
  const positions = options.positionIds ?? o.range(g, T); // [T] or [B, T]
  const rope = ropeAngles(g, positions, options.maxLength ?? config.maxPositions, config.headDim, config.ropeTheta); // [T, D] or [B, T, D]
  const bias = options.cache?.bias ?? attentionBias(x, T, { slidingWindow: config.slidingWindow, attentionMask: options.attentionMask }); // [T, T], [B, T, T] or [B, T, L]
  const heads = { numHeads: config.numHeads, numKvHeads: config.numKvHeads, headDim: config.headDim };
  const hidden: Tensor[] = [];
  const kv: { k: Tensor; v: Tensor }[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const l = `model.layers.${i}.`;
    const h1 = rmsNorm(x, p.get(`${l}input_layernorm.weight`), eps);
    const q = ctx.linear(h1, `${l}self_attn.q_proj`); // [B, T, H·D]
    const k = ctx.linear(h1, `${l}self_attn.k_proj`); // [B, T, G·D]
    const v = ctx.linear(h1, `${l}self_attn.v_proj`); // [B, T, G·D]
    const att = selfAttention(q, k, v, bias, heads, rope, cacheLayer(options, config, i));
    x = o.add(x, ctx.linear(att.y, `${l}self_attn.o_proj`));
    const h2 = rmsNorm(x, p.get(`${l}post_attention_layernorm.weight`), eps);
    const proj = (name: string) => (t: Tensor) => ctx.linear(t, `${l}mlp.${name}`);
    x = o.add(x, gatedMlp(h2, proj('gate_proj'), proj('up_proj'), proj('down_proj'), act));
    if (options.perturb?.layer === i) x = o.add(x, options.perturb.delta);
    hidden.push(x);
    kv.push({ k: att.k, v: att.v });
  }
  const xf = rmsNorm(x, p.get('model.norm.weight'), eps);
  const logits = config.tieWordEmbeddings
    ? o.matmul(xf, p.get('model.embed_tokens.weight'), { transB: true }) // [B, T, V]
    : ctx.linear(xf, 'lm_head');
  return ctx.output(logits, hidden, kv);
}
