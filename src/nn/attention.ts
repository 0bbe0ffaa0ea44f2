// Causal self-attention with grouped-query heads. Letters: B batch, T query positions, S key
// positions (S = T without a cache), H query heads, G key/value heads (H/G queries share one),
// R = H/G, D head size.
//
// Grouped-query attention without copying k and v: q is viewed as [B, G, R, T, D] and k, v as
// [B, G, 1, S, D]; MatMul broadcasts k and v over the R queries of their group, which is
// Hugging Face's repeat_kv (query head h uses key/value head ⌊h/R⌋) with no repeated tensor.

import type { Dim } from '../engine/shape.ts';
import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { applyRope, type RopeAngles } from './rope.ts';

/** What the mask costs nothing to express: −1e9 underflows to exactly 0 after softmax in float32. */
export const MASKED = -1e9;

/** Additive causal mask [T, T]: 0 where key ≤ query, −1e9 above the diagonal. */
export function causalMask(like: Tensor, t: Dim): Tensor {
  const pos = o.range(like.graph, t);
  const future = o.greater(o.unsqueeze(pos, 0), o.unsqueeze(pos, 1)); // [T, T]: key > query
  return o.where(future, like.graph.scalar(MASKED, like.dtype), like.graph.scalar(0, like.dtype));
}

export interface AttentionBiasOptions {
  /** Keys further back than this are masked (Mistral): allowed keys k satisfy q − window < k ≤ q. */
  slidingWindow?: number | null;
  /** [B, S], 1 (or true) for real tokens and 0 for padding: padded keys are masked. */
  attentionMask?: Tensor;
}

/**
 * The additive attention bias for T queries over T keys: causal, optionally windowed, optionally
 * hiding padded keys. [T, T], or [B, T, T] with an attention mask.
 */
export function attentionBias(like: Tensor, t: Dim, opts: AttentionBiasOptions = {}): Tensor {
  const g = like.graph;
  const pos = o.range(g, t);
  const key = o.unsqueeze(pos, 0); // [1, T]
  const query = o.unsqueeze(pos, 1); // [T, 1]
  let hidden = o.greater(key, query); // [T, T]
  const window = opts.slidingWindow ?? null;
  if (window !== null) hidden = o.or(hidden, o.lessOrEqual(key, o.sub(query, window)));
  let bias = o.where(hidden, g.scalar(MASKED, like.dtype), g.scalar(0, like.dtype));
  if (opts.attentionMask) {
    const m = opts.attentionMask;
    const pad = m.dtype === 'bool' ? o.not(m) : o.equal(m, 0);
    const padBias = o.where(o.unsqueeze(pad, 1), g.scalar(MASKED, like.dtype), g.scalar(0, like.dtype)); // [B, 1, S]
    bias = o.add(bias, padBias); // [B, T, S]
  }
  return bias;
}

/** [B, T, H·D] → [B, H, T, D] */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, t, c] = x.shape;
  return o.transpose(o.reshape(x, [b, t, heads, (c as number) / heads]), [0, 2, 1, 3]);
}

/** [B, H, T, D] → [B, T, H·D] */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, t, d] = x.shape;
  return o.reshape(o.transpose(x, [0, 2, 1, 3]), [b, t, (h as number) * (d as number)]);
}

/** softmax(q·kᵀ/√D + mask)·v for q, k, v of shape [B, H, T, D]. */
export function attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor): Tensor {
  const d = q.shape[3] as number;
  const scores = o.add(o.mul(o.matmul(q, k, { transB: true }), 1 / Math.sqrt(d)), mask); // [B, H, T, T]
  return o.matmul(o.softmax(scores, -1), v); // [B, H, T, D]
}

export interface SelfAttentionConfig {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** Multiplies q·kᵀ; default 1/√headDim (Gemma 2/3: query_pre_attn_scalar^−½). */
  scale?: number;
  /** Soft-capping of the scores, s → c·tanh(s/c), before the mask (Gemma 2); default none. */
  softcap?: number | null;
  /** Applied to each head's queries [..., D] and keys before RoPE (Qwen 3, Gemma 3's q_norm/k_norm). */
  normQ?: (x: Tensor) => Tensor;
  normK?: (x: Tensor) => Tensor;
}

/** c·tanh(s/c): scores bounded by ±c, linear near 0 (Gemma 2's soft-capping). */
export function softcap(s: Tensor, c: number | null | undefined): Tensor {
  return c ? o.mul(o.tanh(o.div(s, c)), c) : s;
}

export interface SelfAttentionResult {
  /** [B, T, H·D], before the output projection. */
  y: Tensor;
  /** [B, S, G, D] keys after RoPE and values: what a KV cache keeps. With a cache: the updated cache, [B, G, L, D]. */
  k: Tensor;
  v: Tensor;
}

/**
 * One layer's static KV cache (decoding): keys (after RoPE) and values of L slots, [B, G, L, D]
 * (heads first, as the attention reads them: no transpose of the whole cache per step); the bias
 * ([B, T, L]) hides the slots that hold nothing. With `write`, this call's keys and values
 * [B, G, T, D] are written into their slots and the queries attend over the L slots; without,
 * they are attended beside the cache (the caller stores them).
 */
export interface KvCacheLayer {
  k: Tensor;
  v: Tensor;
  write?: (cache: Tensor, fresh: Tensor) => Tensor;
}

/**
 * Multi-head (H = G) or grouped-query (H > G) causal self-attention on projected q [B, T, H·D],
 * k, v [B, T, G·D]; `bias` is additive, [T, S] or [B, T, S] (see attentionBias); `rope` rotates
 * q and k first (Llama family), GPT-2 has none. With a `cache` (see KvCacheLayer), the result's
 * k, v are [B, G, ·, D]: the updated cache when it has `write`, else this call's keys and values.
 */
export function selfAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor,
  cfg: SelfAttentionConfig,
  rope?: RopeAngles,
  cache?: KvCacheLayer,
): SelfAttentionResult {
  const { numHeads: H, numKvHeads: G, headDim: D } = cfg;
  const R = H / G;
  const [B, T] = q.shape;
  const S = k.shape[1];
  let q5 = o.reshape(q, [B, T, G, R, D]);
  let k4 = o.reshape(k, [B, S, G, D]);
  const v4 = o.reshape(v, [B, S, G, D]);
  if (cfg.normQ) q5 = cfg.normQ(q5);
  if (cfg.normK) k4 = cfg.normK(k4);
  if (rope) {
    q5 = applyRope(q5, rope, 2); // cos/sin broadcast over [G, R]
    k4 = applyRope(k4, rope, 1);
  }
  // The scale on q: T·D multiplies instead of T·S.
  const qh = o.transpose(o.mul(q5, cfg.scale ?? 1 / Math.sqrt(D)), [0, 2, 3, 1, 4]); // [B, G, R, T, D]
  const cap = cfg.softcap ?? null;
  let kg = o.transpose(k4, [0, 2, 1, 3]); // [B, G, S, D]
  let vg = o.transpose(v4, [0, 2, 1, 3]);
  const b5 = bias.rank === 3 ? o.reshape(bias, [bias.shape[0], 1, 1, bias.shape[1], bias.shape[2]]) : bias;
  let att: Tensor; // [B, G, R, T, D]
  if (cache && !cache.write) {
    att = attendBesideCache(qh, cache, kg, vg, b5, cap);
  } else {
    if (cache?.write) {
      kg = cache.write(cache.k, kg); // [B, G, L, D]
      vg = cache.write(cache.v, vg);
    }
    const kh = o.unsqueeze(kg, 2); // [B, G, 1, S, D]
    const vh = o.unsqueeze(vg, 2); // [B, G, 1, S, D]
    const scores = o.add(softcap(o.matmul(qh, kh, { transB: true }), cap), b5); // [B, G, R, T, S]
    att = o.matmul(o.softmax(scores, -1), vh);
  }
  const y = o.reshape(o.transpose(att, [0, 3, 1, 2, 4]), [B, T, H * D]); // [B, T, H·D]
  return cache ? { y, k: kg, v: vg } : { y, k: k4, v: v4 };
}

/**
 * Attention over [cache slots, this call's T keys] without concatenating them (a concat would
 * copy the cache): the softmax is spelt out with one shared maximum,
 *   y = (Σ_cache e^(s−m)·v + Σ_new e^(s−m)·v) / (Σ_cache e^(s−m) + Σ_new e^(s−m)).
 * qh [B, G, R, T, D]; fresh k, v [B, G, T, D] (causal among themselves); bias over the cache [B, 1, 1, T, L].
 */
function attendBesideCache(qh: Tensor, cache: KvCacheLayer, k: Tensor, v: Tensor, bias: Tensor, cap: number | null): Tensor {
  const T = k.shape[2];
  const sc = o.add(softcap(o.matmul(qh, o.unsqueeze(cache.k, 2), { transB: true }), cap), bias); // [B, G, R, T, L]
  const sn = o.add(softcap(o.matmul(qh, o.unsqueeze(k, 2), { transB: true }), cap), causalMask(qh, T)); // [B, G, R, T, T]
  const m = o.maximum(o.reduceMax(sc, -1, true), o.reduceMax(sn, -1, true)); // [B, G, R, T, 1]
  const ec = o.exp(o.sub(sc, m));
  const en = o.exp(o.sub(sn, m));
  const sum = o.add(o.sum(ec, -1, true), o.sum(en, -1, true));
  return o.div(o.add(o.matmul(ec, o.unsqueeze(cache.v, 2)), o.matmul(en, o.unsqueeze(v, 2))), sum);
}
