// GPT-NeoX / Pythia (GPTNeoXForCausalLM), Phi-1.5 / Phi-2 (PhiForCausalLM) and OPT
// (OPTForCausalLM): decoders with biased LayerNorms, a plain MLP and biased projections.
// Letters: B batch, T sequence, C width, H heads, D head size, I MLP width, V vocabulary.
//
//   GPT-NeoX:  x = embed_in[ids]
//              parallel residual: x = x + dense(attn(rope(qkv(ln₁ x)))) + mlp(ln₂ x)   (else one after the other)
//              qkv = query_key_value, laid out per head as [q_h, k_h, v_h]; RoPE on the first rotary_pct of each head
//   Phi:       h = ln(x);  x = x + dense(attn(rope(q h), rope(k h), v h)) + fc2(gelu_tanh(fc1 h));  lm_head has a bias
//   OPT:       x = embed_tokens[ids] + embed_positions[pos + 2]
//              x = x + out_proj(attn(ln₁ x));  x = x + fc2(relu(fc1(ln₂ x)))
//   logits = ln_f(x) · head
//
// Names are HF's (model-config.ts LAYER_NORM_LAYOUTS); nn.Linear weights are held [in, out].

import type { Graph, Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { ACTIVATIONS } from '../nn/activations.ts';
import { attentionBias, selfAttention } from '../nn/attention.ts';
import { layerNorm } from '../nn/norms.ts';
import type { ParamTable } from '../nn/param-binding.ts';
import { ropeAngles } from '../nn/rope.ts';
import { LAYER_NORM_LAYOUTS, OPT_POSITION_OFFSET, type LayerNormDecoderConfig } from './formats/model-config.ts';
import { cacheLayer, ForwardContext, type ForwardOptions, type ForwardOutput, type LoraState } from './forward.ts';

/** Adds the forward pass of a GPT-NeoX, Phi or OPT model for `inputIds` (int64 [B, T]) to `g`. */
export function layerNormDecoderForward(
  g: Graph,
  config: LayerNormDecoderConfig,
  params: ParamTable,
  lora: LoraState | null,
  inputIds: Tensor,
  options: ForwardOptions = {},
): ForwardOutput {
  const ctx = new ForwardContext(g, config, params, lora, options);
  const { p } = ctx;
  const L = LAYER_NORM_LAYOUTS[config.family];
  const [B, T] = inputIds.shape;
  const H = config.numHeads;
  const G = config.numKvHeads;
  const D = config.headDim;
  const act = ACTIVATIONS[config.activation];
  const ln = (x: Tensor, name: string) => layerNorm(x, p.get(`${name}.weight`), p.get(`${name}.bias`), config.normEps);
  const positions = options.positionIds ?? o.range(g, T); // [T] or [B, T]
  let x = ctx.embed(`${L.embed}.weight`, inputIds); // [B, T, C]
  if (L.positions) x = o.add(x, ctx.embed(`${L.positions}.weight`, o.add(positions, OPT_POSITION_OFFSET)));
  ctx.boundary(x);
  const rotaryDim = Math.floor(D * config.partialRotary);
  const length = options.maxLength ?? (typeof T === 'number' && !options.positionIds && !options.cache ? T : config.maxPositions);
  const rope = L.positions ? undefined : ropeAngles(g, positions, length, D, { theta: config.ropeTheta, rotaryDim, scaling: config.ropeScaling ?? null });
  const bias = options.cache?.bias ?? attentionBias(x, T, { attentionMask: options.attentionMask }); // [T, T], [B, T, T] or [B, T, L]
  const heads = { numHeads: H, numKvHeads: G, headDim: D };
  const mlp = (h: Tensor, l: string) => ctx.linear(act(ctx.linear(h, l + L.up)), l + L.down);
  const hidden: Tensor[] = [];
  const kv: { k: Tensor; v: Tensor }[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const l = L.layer(i);
    const h1 = ln(x, l + L.norm1);
    let q: Tensor, k: Tensor, v: Tensor; // [B, T, H·D], [B, T, G·D], [B, T, G·D]
    if (typeof L.qkv === 'string') {
      // [B, T, H, 3D]: each head's q, k and v side by side.
      const [q4, k4, v4] = o.split(o.reshape(ctx.linear(h1, l + L.qkv), [B, T, H, 3 * D]), [D, D, D], -1);
      [q, k, v] = [q4, k4, v4].map((t) => o.reshape(t, [B, T, H * D]));
    } else {
      [q, k, v] = L.qkv.map((name) => ctx.linear(h1, l + name));
    }
    const att = selfAttention(q, k, v, bias, heads, rope, cacheLayer(options, config, i));
    const a = ctx.linear(att.y, l + L.out);
    if (!L.norm2) x = o.add(o.add(x, a), mlp(h1, l)); // Phi: both sublayers read ln(x)
    else if (config.parallelResidual) x = o.add(o.add(x, a), mlp(ln(x, l + L.norm2), l));
    else {
      x = o.add(x, a);
      x = o.add(x, mlp(ln(x, l + L.norm2), l));
    }
    if (options.perturb?.layer === i) x = o.add(x, options.perturb.delta);
    hidden.push(ctx.boundary(x));
    kv.push({ k: att.k, v: att.v });
  }
  const xf = ln(x, L.finalNorm);
  const logits = config.tieWordEmbeddings ? ctx.head(xf, `${L.embed}.weight`, true) : ctx.head(xf, L.head, false); // [B, T, V]
  return ctx.output(logits, hidden, kv);
}
