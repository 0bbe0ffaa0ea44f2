// The output head over a large vocabulary without [B, T, V] tensors. A model's forward pass
// registers how its logits are made (registerHead); a loss that needs only log p(label)
// (nn/loss.ts tokenLogprobs) then computes it slice by slice of the vocabulary:
//
//   log p(y) = z_y − logsumexp_v z_v,   logsumexp_v z_v = logsumexp_k (logsumexp_{v ∈ slice k} z_v)
//
// Each slice's logits z_k = x·W_kᵀ exist only while that slice is reduced, in the forward pass
// and, through gradient checkpointing (engine/autodiff.ts), in the backward one, where they are
// recomputed from x: the memory of a Llama-3.2-1B step (V = 128,256) no longer holds several
// [B, T, V] float32 tensors per pass (0.25 GiB each at 4 × 128 tokens). The idea is Liger
// Kernel's fused linear cross-entropy and Apple's Cut Cross-Entropy (Wijmans et al. 2024), here
// in graph ops.

import { isHalf } from '../engine/dtype.ts';
import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';

/** How a forward pass makes its logits: xf · Wᵀ (tied, W [V, C]) or xf · W (+ bias) (W [C, V]). */
export interface SlicedHead {
  /** The final hidden state, [B, T, C]. */
  xf: Tensor;
  /** The head's weight as held (a 16-bit weight is widened slice by slice). */
  weight: Tensor;
  tied: boolean;
  bias?: Tensor;
  /** Vocabulary rows per slice. */
  rows: number;
}

const heads = new WeakMap<Tensor, SlicedHead>();

/** Records that `logits` are `head`'s, so tokenLogprobs can take them slice by slice. */
export function registerHead(logits: Tensor, head: SlicedHead): void {
  heads.set(logits, head);
}

/** The head that made `logits`, when it has more than one slice. */
export function slicedHeadOf(logits: Tensor): SlicedHead | undefined {
  const h = heads.get(logits);
  if (!h) return undefined;
  const V = h.weight.shape[h.tied ? 0 : 1] as number;
  return V > h.rows ? h : undefined;
}

/** One vocabulary slice's logits [B, T, b − a], computed once `gate` exists. */
export function headSlice(h: SlicedHead, x: Tensor, gate: Tensor, a: number, b: number): Tensor {
  const axis = h.tied ? 0 : 1;
  let w = o.slice(o.after(h.weight, gate), { axes: [axis], starts: [a], ends: [b] });
  if (isHalf(w.dtype)) w = o.cast(w, 'float32');
  const z = o.matmul(x, w, { transB: h.tied });
  return h.bias ? o.add(z, o.slice(h.bias, { axes: [0], starts: [a], ends: [b] })) : z;
}

/** logsumexp over the last axis, shifted by its (gradient-free) maximum. [..., N] → [...] */
function logsumexp(z: Tensor): Tensor {
  const m = o.stopGradient(o.reduceMax(z, -1, true));
  return o.add(o.log(o.sum(o.exp(o.sub(z, m)), -1)), o.squeeze(m, -1));
}

/**
 * log p(label) [B, T] from the head `h` without its [B, T, V] logits: per slice k, the slice's
 * logsumexp and the label's logit when the label falls in it; each slice's pair is a
 * checkpoint, so its logits are recomputed in the backward pass instead of kept.
 */
export function headLabelLogprobs(h: SlicedHead, labels: Tensor): Tensor {
  const g = labels.graph;
  const V = h.weight.shape[h.tied ? 0 : 1] as number;
  const pairs: Tensor[] = [];
  g.checkpoints.push(h.xf);
  let prev = h.xf;
  for (let a = 0; a < V; a += h.rows) {
    const b = Math.min(V, a + h.rows);
    // Each slice starts once the previous one is reduced (a checkpoint follows a checkpoint).
    const x = prev === h.xf ? h.xf : o.after(h.xf, prev);
    const z = headSlice(h, x, x, a, b); // [B, T, n]
    const inside = o.and(o.greaterOrEqual(labels, a), o.less(labels, b));
    const at = o.where(inside, o.sub(labels, a), 0);
    const picked = o.where(inside, o.squeeze(o.gatherElements(z, o.unsqueeze(at, -1), 2), -1), 0);
    const pair = o.concat([o.unsqueeze(logsumexp(z), -1), o.unsqueeze(picked, -1)], -1); // [B, T, 2]
    g.checkpoints.push(pair);
    pairs.push(pair);
    prev = pair;
  }
  const all = o.concat(pairs.map((p) => o.slice(p, { axes: [2], starts: [0], ends: [1] })), -1); // [B, T, K]
  const label = pairs.map((p) => o.squeeze(o.slice(p, { axes: [2], starts: [1], ends: [2] }), -1)).reduce((s, t) => o.add(s, t));
  return o.sub(label, logsumexp(all));
}

/** What the scoring pass reads at each position, [B, T] each. */
export interface HeadScores {
  /** log p(label). */
  logp: Tensor;
  /** E_p[log p] and Var_p[log p] over the vocabulary (Min-K%++). */
  mean: Tensor;
  variance: Tensor;
  /** The most likely token (the first of equals), int64. */
  argmax: Tensor;
}

/**
 * The scoring pass's per-position quantities from the head `h` without its [B, T, V] logits:
 * per slice k its maximum m_k, Σ e^(z−m_k), the first two moments of z − m_k under e^(z−m_k),
 * its argmax and the label's logit; then, with M = max_k m_k and c_k = m_k − M, the moments of
 * u = z − M (so log p = u − log Z, Z = Σ_k e^(c_k)·S0_k), which lie near 0 where p has its mass.
 * Forward only (no checkpoints): each slice starts once the previous one is reduced.
 */
export function headScores(h: SlicedHead, labels: Tensor): HeadScores {
  const V = h.weight.shape[h.tied ? 0 : 1] as number;
  const stats: Tensor[] = []; // per slice [B, T, 5]: m, S0, S1, S2, label logit
  const argmaxes: Tensor[] = []; // per slice [B, T] int64
  let prev = h.xf;
  for (let a = 0; a < V; a += h.rows) {
    const b = Math.min(V, a + h.rows);
    const z = headSlice(h, h.xf, prev, a, b); // [B, T, n]
    const m = o.reduceMax(z, -1, true);
    const d = o.sub(z, m);
    const e = o.exp(d);
    const inside = o.and(o.greaterOrEqual(labels, a), o.less(labels, b));
    const picked = o.where(inside, o.squeeze(o.gatherElements(z, o.unsqueeze(o.where(inside, o.sub(labels, a), 0), -1), 2), -1), 0);
    const parts = [o.squeeze(m, -1), o.sum(e, -1), o.sum(o.mul(e, d), -1), o.sum(o.mul(e, o.square(d)), -1), picked];
    const s = o.concat(parts.map((t) => o.unsqueeze(t, -1)), -1);
    stats.push(s);
    argmaxes.push(o.add(o.argmax(z, -1), a));
    prev = s;
  }
  const field = (i: number) => o.concat(stats.map((s) => o.slice(s, { axes: [2], starts: [i], ends: [i + 1] })), -1); // [B, T, K]
  const [m, s0, s1, s2, picked] = [0, 1, 2, 3, 4].map(field);
  const M = o.reduceMax(m, -1, true);
  const c = o.sub(m, M);
  const w = o.exp(c);
  const Z = o.sum(o.mul(w, s0), -1); // [B, T]
  const t1 = o.sum(o.mul(w, o.add(s1, o.mul(c, s0))), -1);
  const t2 = o.sum(o.mul(w, o.add(o.add(s2, o.mul(o.mul(c, s1), 2)), o.mul(o.square(c), s0))), -1);
  const logZ = o.log(Z);
  const eu = o.div(t1, Z);
  const lse = o.add(o.squeeze(M, -1), logZ);
  const best = o.argmax(m, -1); // the slice holding the maximum
  const ids = o.concat(argmaxes.map((t) => o.unsqueeze(t, -1)), -1); // [B, T, K]
  return {
    logp: o.sub(o.sum(picked, -1), lse),
    mean: o.sub(eu, logZ),
    variance: o.sub(o.div(t2, Z), o.square(eu)),
    argmax: o.squeeze(o.gatherElements(ids, o.unsqueeze(best, -1), 2), -1),
  };
}
