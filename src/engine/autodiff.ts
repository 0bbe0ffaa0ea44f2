// Reverse-mode autodiff over the graph. One rule per primitive (the table below, typed over every
// OpName so that a missing rule is a compile error). Rules return gradients shaped like the op's
// output broadcast; reducing them back to a broadcast input's shape and summing gradients from
// several consumers happen once, in `grad`, not in the rules.

import { isFloat } from './dtype.ts';
import { ShapeError } from './errors.ts';
import type { Graph, OpName } from './graph.ts';
import { Tensor } from './graph.ts';
import * as o from './ops.ts';
import { END } from './ops.ts';
import { fmt, sameShape, type Dim } from './shape.ts';

type Grads = (Tensor | null)[];
/** y is the node (its output), g the gradient flowing into it. */
type Rule = (y: Tensor, g: Tensor) => Grads;

const none: Rule = (y) => y.inputs.map(() => null);

function restoreReducedAxes(y: Tensor, g: Tensor): Tensor {
  // Reinsert the reduced axes as size 1 so g broadcasts against the input.
  const x = y.inputs[0];
  const { axes, keepdims } = y.attrs as { axes: number[]; keepdims: boolean };
  return keepdims ? g : o.reshape(g, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

const RULES: Record<OpName, Rule> = {
  input: none,
  constant: none,
  add: (_y, g) => [g, g],
  sub: (_y, g) => [g, o.neg(g)],
  mul: (y, g) => [o.mul(g, y.inputs[1]), o.mul(g, y.inputs[0])],
  div: (y, g) => {
    const [a, b] = y.inputs;
    return [o.div(g, b), o.neg(o.div(o.mul(g, a), o.mul(b, b)))];
  },
  max: (y, g) => minMaxRule(y, g),
  min: (y, g) => minMaxRule(y, g),
  pow: (y, g) => {
    const x = y.inputs[0];
    const c = y.attrs.exponent as number;
    return [o.mul(g, o.mul(o.pow(x, c - 1), c)), null];
  },
  neg: (_y, g) => [o.neg(g)],
  sqrt: (y, g) => [o.div(g, o.mul(y, 2))],
  exp: (y, g) => [o.mul(g, y)],
  log: (y, g) => [o.div(g, y.inputs[0])],
  abs: (y, g) => [o.mul(g, o.sign(y.inputs[0]))],
  sign: none,
  tanh: (y, g) => [o.mul(g, o.sub(1, o.mul(y, y)))],
  // d erf(x)/dx = 2/√π · exp(−x²)
  erf: (y, g) => {
    const x = y.inputs[0];
    return [o.mul(g, o.mul(o.exp(o.neg(o.mul(x, x))), 2 / Math.sqrt(Math.PI)))];
  },
  sigmoid: (y, g) => [o.mul(g, o.mul(y, o.sub(1, y)))],
  relu: (y, g) => [o.where(o.greater(y.inputs[0], 0), g, 0)],
  reciprocal: (y, g) => [o.neg(o.mul(g, o.mul(y, y)))],
  where: (y, g) => [null, o.where(y.inputs[0], g, 0), o.where(y.inputs[0], 0, g)],
  clip: (y, g) => {
    const x = y.inputs[0];
    const { min, max } = y.attrs as { min: number; max: number };
    return [o.where(o.and(o.greaterOrEqual(x, min), o.lessOrEqual(x, max)), g, 0)];
  },
  equal: none, less: none, greater: none, lessOrEqual: none, greaterOrEqual: none, and: none, or: none, not: none,
  matmul: (y, g) => {
    const [a, w] = y.inputs;
    const b = rewidened(w, g);
    // A weight shared across the batch ([..., M, K] @ [K, N]): fold the batch into M so the
    // weight gradient is one big matmul instead of a batched one summed afterwards.
    if (b.rank === 2 && a.rank > 2) {
      const k = a.shape[a.rank - 1];
      const n = b.shape[1];
      const a2 = o.reshape(a, [-1, k]);
      const g2 = o.reshape(g, [-1, n]);
      return [o.matmul(g, b, { transB: true }), o.matmul(a2, g2, { transA: true })];
    }
    return [o.matmul(g, b, { transB: true }), o.matmul(a, g, { transA: true })];
  },
  reshape: (y, g) => [o.reshape(g, y.inputs[0].shape)],
  transpose: (y, g) => {
    const perm = y.attrs.perm as number[];
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [o.transpose(g, inverse)];
  },
  expand: (_y, g) => [g], // reduced to the input's shape by `grad`
  concat: (y, g) => {
    const axis = y.attrs.axis as number;
    let at = 0;
    return y.inputs.map((x) => {
      const d = x.shape[axis];
      if (typeof d !== 'number' || typeof at !== 'number') throw new ShapeError(`gradient of concat: symbolic axis ${axis} (${fmt(x.shape)})`);
      const piece = o.slice(g, { axes: [axis], starts: [at], ends: [at + d] });
      at += d;
      return piece;
    });
  },
  slice: (y, g) => {
    const x = y.inputs[0];
    const { axes, starts, steps } = y.attrs as { axes: number[]; starts: number[]; steps: number[] };
    const pads: [number, number][] = x.shape.map(() => [0, 0]);
    axes.forEach((a, i) => {
      if (steps[i] !== 1) throw new ShapeError(`gradient of slice: step ${steps[i]} is not supported`);
      const d = x.shape[a];
      const len = y.shape[a];
      if (typeof d === 'number' && typeof len === 'number') pads[a] = [starts[i], d - starts[i] - len];
      else if (d === len) pads[a] = [0, 0];
      else throw new ShapeError(`gradient of slice: symbolic axis ${a} of ${fmt(x.shape)} sliced to ${len}`);
    });
    return [o.pad(g, pads, x.shape)];
  },
  pad: (y, g) => {
    const pads = y.attrs.pads as [number, number][];
    const x = y.inputs[0];
    const axes = pads.map((_, i) => i).filter((i) => pads[i][0] !== 0 || pads[i][1] !== 0);
    const ends: Dim[] = axes.map((a) => (typeof x.shape[a] === 'number' ? pads[a][0] + (x.shape[a] as number) : END));
    return [o.slice(g, { axes, starts: axes.map((a) => pads[a][0]), ends })];
  },
  gather: (y, g) => {
    const [data, indices] = y.inputs;
    const idx = o.unsqueeze(o.cast(indices, 'int64'), -1);
    return [o.scatterNDAdd(o.zerosLike(data), idx, g), null];
  },
  gatherElements: (y, g) => {
    const [data, indices] = y.inputs;
    return [o.scatterElementsAdd(o.zerosLike(data), indices, g, y.attrs.axis as number), null];
  },
  scatterNDAdd: (y, g) => {
    // d/d data is g; d/d updates is g gathered at the rows.
    const [, indices] = y.inputs;
    return [g, null, o.gather(g, o.squeeze(indices, -1))];
  },
  scatterElementsAdd: (y, g) => [g, null, o.gatherElements(g, y.inputs[1], y.attrs.axis as number)],
  reduceSum: (y, g) => [o.expand(restoreReducedAxes(y, g), y.inputs[0].shape)],
  reduceSumSquare: (y, g) => [o.mul(o.expand(restoreReducedAxes(y, g), y.inputs[0].shape), o.mul(y.inputs[0], 2))],
  reduceMean: (y, g) => {
    const x = y.inputs[0];
    const axes = y.attrs.axes as number[];
    const n = o.sizeOf(x.graph, axes.map((a) => x.shape[a]), x.dtype);
    return [o.expand(o.div(restoreReducedAxes(y, g), n), x.shape)];
  },
  reduceMax: (y, g) => {
    // Ties share the gradient equally, as PyTorch's amax does.
    const x = y.inputs[0];
    const axes = y.attrs.axes as number[];
    const m = restoreReducedAxes(y, y);
    const hit = o.cast(o.equal(x, m), x.dtype);
    const count = o.sum(hit, axes, true);
    return [o.mul(hit, o.div(restoreReducedAxes(y, g), count))];
  },
  argmax: none,
  // y = softmax(x): dx = y ⊙ (g − Σ g⊙y)
  softmax: (y, g) => {
    const axis = y.attrs.axis as number;
    return [o.mul(y, o.sub(g, o.sum(o.mul(g, y), axis, true)))];
  },
  // y = log softmax(x): dx = g − softmax(x) · Σ g
  logSoftmax: (y, g) => {
    const axis = y.attrs.axis as number;
    return [o.sub(g, o.mul(o.exp(y), o.sum(g, axis, true)))];
  },
  cast: (y, g) => (isFloat(y.inputs[0].dtype) ? [o.cast(g, y.inputs[0].dtype)] : [null]),
  stopGradient: none,
  after: (_y, g) => [g, null],
  range: none,
  dimProduct: none,
  roundBf16: none,
};

function minMaxRule(y: Tensor, g: Tensor): Grads {
  // Ties split the gradient in half, as PyTorch's maximum/minimum do.
  const [a, b] = y.inputs;
  const takeA = o.cast(o.equal(a, y), g.dtype);
  const takeB = o.cast(o.equal(b, y), g.dtype);
  const share = o.div(g, o.add(takeA, takeB));
  return [o.mul(share, takeA), o.mul(share, takeB)];
}

/**
 * A 16-bit weight widened for the forward pass (cast(after(w16, x)), possibly sliced, reshaped or
 * transposed before or after the cast: an output head's slice, a transposed operand) is widened
 * again for the backward one, once the gradient `g` exists: otherwise every layer's float32 copy
 * lives from the forward pass to the backward one, more memory than float32 weights (ops.after).
 * Any other `w` is returned as it is.
 */
function rewidened(w: Tensor, g: Tensor): Tensor {
  const chain: Tensor[] = [];
  let t = w;
  while (t.op === 'cast' || t.op === 'slice' || t.op === 'reshape' || t.op === 'transpose') {
    chain.push(t);
    t = t.inputs[0];
  }
  if (t.op !== 'after' || t.inputs[0].op !== 'input' || chain.length === 0) return w;
  let x = o.after(t.inputs[0], g);
  for (const c of chain.reverse()) x = g.graph.node(c.op, [x, ...c.inputs.slice(1)], c.attrs, c.dtype, c.shape);
  return x;
}

/** Sum g (shaped like a broadcast result) back down to `shape`. */
export function unbroadcast(g: Tensor, shape: readonly Dim[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new ShapeError(`gradient: ${fmt(g.shape)} cannot reduce to ${fmt(shape)}`);
  let r = lead > 0 ? o.sum(g, Array.from({ length: lead }, (_, i) => i), false) : g;
  const ones = shape.map((d, i) => (d === 1 && r.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
  if (ones.length > 0) r = o.sum(r, ones, true);
  if (!sameShape(r.shape, shape)) throw new ShapeError(`gradient: ${fmt(g.shape)} reduced to ${fmt(r.shape)}, expected ${fmt(shape)}`);
  return r;
}

/**
 * Gradients of the scalar `loss` with respect to each of `wrt` (float tensors). A tensor that
 * `loss` does not depend on gets a zero gradient of its shape.
 */
export function grad(loss: Tensor, wrt: readonly Tensor[]): Tensor[] {
  if (loss.rank !== 0) throw new ShapeError(`grad: loss must be a scalar, got ${fmt(loss.shape)}`);
  if (!isFloat(loss.dtype)) throw new ShapeError(`grad: loss must be float, got ${loss.dtype}`);
  const g = loss.graph;
  for (const w of wrt) {
    if (w.graph !== g) throw new ShapeError(`grad: ${w} belongs to another graph`);
    if (!isFloat(w.dtype)) throw new ShapeError(`grad: no gradient for ${w.dtype} tensor ${w}`);
  }
  // Nodes on a path from some wrt to the loss.
  const fromWrt = new Uint8Array(g.nodes.length);
  for (const w of wrt) fromWrt[w.id] = 1;
  for (let i = 0; i <= loss.id; i++) {
    const n = g.nodes[i];
    if (!fromWrt[i] && n.inputs.some((x) => fromWrt[x.id])) fromWrt[i] = 1;
  }
  // Gradient contributions per tensor, combined when the reverse walk reaches the tensor (all
  // its consumers have higher ids, so all contributions are in by then). A graph input's are
  // combined as soon as its last reader (the lowest id) is walked instead, so that with
  // checkpointing the segment that sent the last contribution can wait for the sum
  // (Recompute.summed): ONNX Runtime otherwise adds a weight's forget- and retain-pass
  // gradients at the end of the step, keeping both of every layer until then (2.3 GB on the
  // SmolLM2-360M shape).
  const parts = new Map<number, Tensor[]>();
  parts.set(loss.id, [g.scalar(1, loss.dtype)]);
  const lastReader = new Map<number, number>();
  for (let i = loss.id; i >= 0; i--) for (const x of g.nodes[i].inputs) if (x.op === 'input' && fromWrt[x.id]) lastReader.set(x.id, i);
  const total = (id: number): Tensor | undefined => {
    const list = parts.get(id);
    return list ? combine(list) : undefined;
  };
  const recompute = g.checkpoints.length > 0 ? new Recompute(g, loss.id) : null;
  const walk = (i: number, y: Tensor): void => {
    let gy = total(i);
    if (gy && recompute) gy = recompute.released(y, gy);
    if (gy) recompute?.gradientOf(y, gy);
    if (!gy || y.inputs.length === 0) return;
    const wanted = y.inputs.map((x) => fromWrt[x.id] === 1 && isFloat(x.dtype));
    if (!wanted.some(Boolean)) return;
    const gx = RULES[y.op](recompute?.value(y) ?? y, gy);
    y.inputs.forEach((x, k) => {
      const gk = gx[k];
      if (!wanted[k] || !gk) return;
      const reduced = unbroadcast(gk, x.shape);
      recompute?.contributed(y, x, reduced);
      const list = parts.get(x.id);
      if (list) list.push(reduced);
      else parts.set(x.id, [reduced]);
    });
  };
  for (let i = loss.id; i >= 0; i--) {
    const y = g.nodes[i];
    walk(i, y);
    for (const x of new Set(y.inputs)) {
      const list = parts.get(x.id);
      if (lastReader.get(x.id) !== i || !list || list.length < 2) continue;
      const sum = combine(list);
      parts.set(x.id, [sum]);
      recompute?.summed(list.at(-1)!, sum);
    }
  }
  return wrt.map((w) => total(w.id) ?? o.zerosLike(w));
}

/**
 * Gradient checkpointing (Chen et al. 2016, "Training deep nets with sublinear memory cost"; what
 * PyTorch's torch.utils.checkpoint and HF's gradient_checkpointing do per layer). A checkpoint c
 * ends a segment that starts at the latest checkpoint s it depends on: the nodes between them
 * that depend on s. Their backward rules read copies of them, recomputed from `after(s, ∂L/∂c)`:
 * the copies run only once the backward pass reaches the segment, so of a layer's activations
 * only its input lives from the forward pass to the backward one. The ops are pure (LoRA dropout
 * is a hash of its seed), so the copies equal the originals and the gradients are unchanged.
 */
class Recompute {
  /** Per segment: its start, its end, the ids of its nodes, and the gradients its backward rules sent outside it (to weights). */
  private readonly segments: { start: Tensor; end: Tensor; nodes: Set<number>; sent: Tensor[] }[] = [];
  private readonly byStart = new Map<number, number[]>();
  /** Per node id, the segments it belongs to. */
  private readonly member = new Map<number, number[]>();
  private readonly byEnd = new Map<number, number>();
  private readonly gates = new Map<number, Tensor>();
  private readonly copies = new Map<number, Map<number, Tensor>>();

  constructor(private readonly g: Graph, last: number) {
    const marks = new Set(g.checkpoints.filter((c) => c.id <= last).map((c) => c.id));
    for (const id of [...marks].sort((a, b) => a - b)) {
      const end = g.nodes[id];
      // The ancestors of `end` up to the checkpoints before it.
      const seen = new Set<number>();
      const stack = [...end.inputs];
      let start = -1;
      while (stack.length) {
        const t = stack.pop()!;
        if (seen.has(t.id)) continue;
        seen.add(t.id);
        if (marks.has(t.id)) start = Math.max(start, t.id);
        else stack.push(...t.inputs);
      }
      if (start < 0) continue;
      // Of those, the ones that depend on the start (in id order, inputs come first).
      const nodes = new Set<number>();
      for (const i of [...seen].sort((a, b) => a - b)) {
        if (i > start && !marks.has(i) && g.nodes[i].inputs.some((x) => x.id === start || nodes.has(x.id))) nodes.add(i);
      }
      const k = this.segments.push({ start: g.nodes[start], end, nodes, sent: [] }) - 1;
      this.byEnd.set(id, k);
      this.byStart.set(start, [...(this.byStart.get(start) ?? []), k]);
      for (const i of nodes) this.member.set(i, [...(this.member.get(i) ?? []), k]);
    }
  }

  /** Called with each tensor's total gradient as the reverse walk reaches it. */
  gradientOf(t: Tensor, gt: Tensor): void {
    const k = this.byEnd.get(t.id);
    if (k !== undefined) this.gates.set(k, gt); // the end's gradient releases its segment
  }

  /** A backward rule of `y` sent `part` to its input `x`: kept when it leaves y's segment. */
  contributed(y: Tensor, x: Tensor, part: Tensor): void {
    const k = this.byEnd.get(y.id) ?? this.recomputedIn(y);
    if (k === undefined) return;
    const seg = this.segments[k];
    if (x !== seg.start && !seg.nodes.has(x.id)) seg.sent.push(part);
  }

  /**
   * A weight's gradient contributions were summed when `last` arrived: the segment that sent
   * `last` now waits for the sum instead, so ONNX Runtime adds them there (before the block below
   * is recomputed) and not at the end of the step, with every layer's contributions kept till then.
   */
  summed(last: Tensor, sum: Tensor): void {
    for (const seg of this.segments) {
      const i = seg.sent.indexOf(last);
      if (i >= 0) seg.sent[i] = sum;
    }
  }

  /**
   * The gradient of `t`, released to the rest of the backward pass only once every segment
   * starting at `t` has sent its gradients to weights. ONNX Runtime would otherwise compute
   * weight gradients whenever it likes, often at the end, keeping each recomputed segment's
   * activations (what they read) until then: the memory checkpointing was to save.
   */
  released(t: Tensor, gt: Tensor): Tensor {
    const sent = (this.byStart.get(t.id) ?? []).flatMap((k) => this.segments[k].sent);
    if (sent.length === 0) return gt;
    // One value of each; of a padded slice gradient, of the slice's own (a value of the padded
    // tensor would make ONNX Runtime pad it in full: 180 MiB per slice of SmolLM2-360M's head).
    const firsts = sent.map((p) => o.slice(o.reshape(p.op === 'pad' ? p.inputs[0] : p, [-1]), { axes: [0], starts: [0], ends: [1] }));
    return o.after(gt, firsts.length === 1 ? firsts[0] : o.concat(firsts, 0));
  }

  /** The node whose inputs and value a backward rule reads: `y`, or its recomputed copy. */
  value(y: Tensor): Tensor {
    const k = this.recomputedIn(y);
    return k === undefined ? y : this.copy(y, k);
  }

  /** The segment whose copy of `y` the backward pass reads: a node in several segments (read by two checkpoints' work) is recomputed in the latest reached. */
  private recomputedIn(y: Tensor): number | undefined {
    return (this.member.get(y.id) ?? []).filter((s) => this.gates.has(s)).pop();
  }

  private copy(t: Tensor, k: number): Tensor {
    const seg = this.segments[k];
    let copies = this.copies.get(k);
    if (!copies) this.copies.set(k, (copies = new Map()));
    let c = copies.get(t.id);
    if (c) return c;
    if (t === seg.start) c = o.after(seg.start, this.gates.get(k)!);
    else if (seg.nodes.has(t.id)) c = this.g.node(t.op, t.inputs.map((x) => this.copy(x, k)), t.attrs, t.dtype, t.shape);
    else return t;
    copies.set(t.id, c);
    return c;
  }
}

/**
 * Sum of gradient contributions. The zero-padded gradients of slices that together tile one axis
 * (a split: q, k, v from one projection; an output head taken slice by slice over the
 * vocabulary, in each pass that reads it) are summed per slice and concatenated, instead of each
 * being padded to the full size and added: a SmolLM2-360M step held six 180 MiB padded copies of
 * its tied head's gradient. Other contributions (e.g. the embedding lookup's) are added to that.
 */
function combine(list: Tensor[]): Tensor {
  if (list.length === 1) return list[0];
  const padded = list.filter((t) => paddedAxis(t) !== null);
  const tiled = padded.length >= 2 ? asTiling(padded) : null;
  const rest = tiled ? list.filter((t) => !padded.includes(t)) : list;
  const parts = tiled ? [o.concat(tiled.pieces, tiled.axis), ...rest] : rest;
  return parts.reduce((a, b) => o.add(a, b));
}

/** The one axis a Pad pads (statically sized), or null for anything else. */
function paddedAxis(t: Tensor): number | null {
  if (t.op !== 'pad') return null;
  const pads = t.attrs.pads as [number, number][];
  const axes = pads.map((p, i) => (p[0] !== 0 || p[1] !== 0 ? i : -1)).filter((i) => i >= 0);
  return axes.length === 1 && typeof t.inputs[0].shape[axes[0]] === 'number' ? axes[0] : null;
}

/**
 * Padded slices along one axis whose spans, with equal spans summed, cover it exactly once: the
 * pieces in order. Null when the axes differ or the spans overlap or leave a gap.
 */
function asTiling(list: Tensor[]): { axis: number; pieces: Tensor[] } | null {
  const axis = paddedAxis(list[0])!;
  const spans = new Map<number, { end: number; slices: Tensor[] }>();
  for (const t of list) {
    if (paddedAxis(t) !== axis) return null;
    const begin = (t.attrs.pads as [number, number][])[axis][0];
    const end = begin + (t.inputs[0].shape[axis] as number);
    const same = spans.get(begin);
    if (same && same.end !== end) return null;
    if (same) same.slices.push(t.inputs[0]);
    else spans.set(begin, { end, slices: [t.inputs[0]] });
  }
  const ordered = [...spans.entries()].sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [begin, { end }] of ordered) {
    if (begin !== at) return null;
    at = end;
  }
  if (at !== list[0].shape[axis]) return null;
  return { axis, pieces: ordered.map(([, s]) => s.slices.reduce((a, b) => o.add(a, b))) };
}
