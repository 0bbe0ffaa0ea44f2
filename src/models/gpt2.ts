// GPT-2 (Radford et al. 2019; Hugging Face's GPT2LMHeadModel), nanoGPT-style. Letters: B batch,
// T sequence, C width, H heads, D = C/H head size, I MLP width, V vocabulary, P positions.
//
//   x = wte[ids] + wpe[pos]
//   per block: x = x + c_proj(attn(c_attn(ln_1 x)));  x = x + mlp.c_proj(act(mlp.c_fc(ln_2 x)))
//   logits = ln_f(x) · wteᵀ  (tied; or lm_head)
//
// Parameters keep Hugging Face's names; Conv1D weights are [in, out] in HF already, so nothing is
// transposed except an untied lm_head (an nn.Linear).

import type { Graph, Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { ACTIVATIONS } from '../nn/activations.ts';
import { attentionBias, selfAttention } from '../nn/attention.ts';
import { mlp } from '../nn/mlp.ts';
import { layerNorm } from '../nn/norms.ts';
import type { ParamTable } from '../nn/param-binding.ts';
import type { Gpt2Config } from './formats/model-config.ts';
import { cacheLayer, ForwardContext, type ForwardOptions, type ForwardOutput, type LoraState } from './forward.ts';

/** Adds GPT-2's forward pass for `inputIds` (int64 [B, T]) to `g`. */
export function gpt2Forward(
  g: Graph,
  config: Gpt2Config,
  params: ParamTable,
  lora: LoraState | null,
  inputIds: Tensor,
  options: ForwardOptions = {},
): ForwardOutput {
  const ctx = new ForwardContext(g, config, params, lora, options);
  const { p } = ctx;
  const [, T] = inputIds.shape;
  const eps = config.normEps;
  const C = config.hiddenSize;
  const act = ACTIVATIONS[config.activation];
  const positions = options.positionIds ?? o.range(g, T); // [T] or [B, T]
  let x = o.add(ctx.embed('transformer.wte.weight', inputIds), ctx.embed('transformer.wpe.weight', positions)); // [B, T, C]
  ctx.boundary(x);
  const bias = options.cache?.bias ?? attentionBias(x, T, { attentionMask: options.attentionMask }); // [T, T], [B, T, T] or [B, T, L]
  const heads = { numHeads: config.numHeads, numKvHeads: config.numHeads, headDim: config.headDim };
  const hidden: Tensor[] = [];
  const kv: { k: Tensor; v: Tensor }[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const h = `transformer.h.${i}.`;
    const ln1 = layerNorm(x, p.get(`${h}ln_1.weight`), p.get(`${h}ln_1.bias`), eps);
    const [q, k, v] = o.split(ctx.linear(ln1, `${h}attn.c_attn`), [C, C, C], -1); // each [B, T, C]
    const att = selfAttention(q, k, v, bias, heads, undefined, cacheLayer(options, config, i));
    x = o.add(x, ctx.linear(att.y, `${h}attn.c_proj`));
    const ln2 = layerNorm(x, p.get(`${h}ln_2.weight`), p.get(`${h}ln_2.bias`), eps);
    x = o.add(x, mlp(ln2, (t) => ctx.linear(t, `${h}mlp.c_fc`), (t) => ctx.linear(t, `${h}mlp.c_proj`), act));
    if (options.perturb?.layer === i) x = o.add(x, options.perturb.delta);
    hidden.push(ctx.boundary(x));
    kv.push({ k: att.k, v: att.v });
  }
  const xf = layerNorm(x, p.get('transformer.ln_f.weight'), p.get('transformer.ln_f.bias'), eps);
  const logits = config.tieWordEmbeddings ? ctx.head(xf, 'transformer.wte.weight', true) : ctx.head(xf, 'lm_head', false); // [B, T, V]
  return ctx.output(logits, hidden, kv);
}
