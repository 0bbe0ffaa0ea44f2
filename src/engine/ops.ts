// Op builders: check dtypes and shapes at build time (errors name the op and the shapes), then
// add one primitive node. Composite ops (rsqrt, split, unsqueeze, ...) are built from primitives
// and get their gradients for free.

import { isFloat, type DType } from './dtype.ts';
import { ShapeError } from './errors.ts';
import type { Graph, OpName } from './graph.ts';
import { Tensor } from './graph.ts';
import { broadcastShapes, dimProduct, dimQuotient, fmt, normAxis, type Dim, type Shape } from './shape.ts';

export type Operand = Tensor | number;

/** Far past any real size: slicing "to the end". */
export const END = Number.MAX_SAFE_INTEGER;

function lift(a: Operand, like: Tensor): Tensor {
  return typeof a === 'number' ? like.graph.scalar(a, like.dtype) : a;
}

function pair(op: string, a: Operand, b: Operand): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new ShapeError(`${op}: at least one operand must be a tensor`);
  const ta = typeof a === 'number' ? lift(a, b as Tensor) : a;
  const tb = typeof b === 'number' ? lift(b, ta) : b;
  if (ta.dtype !== tb.dtype) throw new ShapeError(`${op}: dtypes differ (${ta.dtype} vs ${tb.dtype})`);
  return [ta, tb];
}

function requireFloat(op: string, x: Tensor): void {
  if (!isFloat(x.dtype)) throw new ShapeError(`${op}: needs a float tensor, got ${x.dtype} ${fmt(x.shape)}`);
}

function binary(op: OpName, a: Operand, b: Operand, outDtype?: DType): Tensor {
  const [ta, tb] = pair(op, a, b);
  return ta.graph.node(op, [ta, tb], {}, outDtype ?? ta.dtype, broadcastShapes(op, [ta.shape, tb.shape]));
}

function unary(op: OpName, x: Tensor): Tensor {
  requireFloat(op, x);
  return x.graph.node(op, [x], {}, x.dtype, x.shape);
}

// ── elementwise ────────────────────────────────────────────────────────────────
export const add = (a: Operand, b: Operand): Tensor => binary('add', a, b);
export const sub = (a: Operand, b: Operand): Tensor => binary('sub', a, b);
export const mul = (a: Operand, b: Operand): Tensor => binary('mul', a, b);
export const div = (a: Operand, b: Operand): Tensor => binary('div', a, b);
export const maximum = (a: Operand, b: Operand): Tensor => binary('max', a, b);
export const minimum = (a: Operand, b: Operand): Tensor => binary('min', a, b);
export const neg = (x: Tensor): Tensor => unary('neg', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const sign = (x: Tensor): Tensor => unary('sign', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const erf = (x: Tensor): Tensor => unary('erf', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
export const rsqrt = (x: Tensor): Tensor => reciprocal(sqrt(x));
export const square = (x: Tensor): Tensor => mul(x, x);

/** x ** exponent, the exponent a constant (the only case models need). */
export function pow(x: Tensor, exponent: number): Tensor {
  requireFloat('pow', x);
  // ONNX Runtime's Pow is a slow generic kernel: the common exponents become cheaper ops.
  if (exponent === 1) return x;
  if (exponent === 2) return mul(x, x);
  if (exponent === 0.5) return sqrt(x);
  if (exponent === -1) return reciprocal(x);
  return x.graph.node('pow', [x, x.graph.scalar(exponent, x.dtype)], { exponent }, x.dtype, x.shape);
}

export function clip(x: Tensor, min: number, max: number): Tensor {
  requireFloat('clip', x);
  if (!(min <= max)) throw new ShapeError(`clip: min ${min} is above max ${max}`);
  return x.graph.node('clip', [x], { min, max }, x.dtype, x.shape);
}

export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  if (cond.dtype !== 'bool') throw new ShapeError(`where: condition must be bool, got ${cond.dtype}`);
  const [ta, tb] = pair('where', a, b);
  return cond.graph.node('where', [cond, ta, tb], {}, ta.dtype, broadcastShapes('where', [cond.shape, ta.shape, tb.shape]));
}

// ── comparisons and logic (bool results, no gradients) ──────────────────────────
export const equal = (a: Operand, b: Operand): Tensor => binary('equal', a, b, 'bool');
export const less = (a: Operand, b: Operand): Tensor => binary('less', a, b, 'bool');
export const greater = (a: Operand, b: Operand): Tensor => binary('greater', a, b, 'bool');
export const lessOrEqual = (a: Operand, b: Operand): Tensor => binary('lessOrEqual', a, b, 'bool');
export const greaterOrEqual = (a: Operand, b: Operand): Tensor => binary('greaterOrEqual', a, b, 'bool');
export function and(a: Tensor, b: Tensor): Tensor {
  return a.graph.node('and', [a, b], {}, 'bool', broadcastShapes('and', [a.shape, b.shape]));
}
export function or(a: Tensor, b: Tensor): Tensor {
  return a.graph.node('or', [a, b], {}, 'bool', broadcastShapes('or', [a.shape, b.shape]));
}
export const not = (x: Tensor): Tensor => x.graph.node('not', [x], {}, 'bool', x.shape);

// ── matmul ────────────────────────────────────────────────────────────────────
/** Batched, broadcasting matrix product of the last two axes; transposes are fused by ORT. */
export function matmul(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
  if (a.dtype !== b.dtype) throw new ShapeError(`matmul: dtypes differ (${a.dtype} vs ${b.dtype})`);
  requireFloat('matmul', a);
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(`matmul: operands need rank >= 2, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  if (opts.transA) a = swapLast(a);
  if (opts.transB) b = swapLast(b);
  const [m, k1] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k1 !== k2) throw new ShapeError(`matmul: inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)}`);
  const batch = broadcastShapes('matmul', [a.shape.slice(0, -2), b.shape.slice(0, -2)]);
  return a.graph.node('matmul', [a, b], {}, a.dtype, [...batch, m, n]);
}

function swapLast(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}

// ── shape ops ─────────────────────────────────────────────────────────────────
/** Reshape to `shape`; one entry may be -1 (inferred). Symbolic dims are allowed. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const total = dimProduct(x.shape);
  const holes = shape.filter((d) => d === -1).length;
  if (holes > 1) throw new ShapeError(`reshape: more than one -1 in ${fmt(shape)}`);
  const known = dimProduct(shape.filter((d) => d !== -1));
  let out = [...shape];
  if (holes === 1) {
    const q = dimQuotient(total, known);
    if (q === null) throw new ShapeError(`reshape: cannot reshape ${fmt(x.shape)} to ${fmt(shape)}`);
    out = shape.map((d) => (d === -1 ? q : d));
  } else if (dimProduct(out) !== total) {
    throw new ShapeError(`reshape: ${fmt(x.shape)} has ${total} elements, ${fmt(shape)} has ${known}`);
  }
  return x.graph.node('reshape', [x], { shape: out }, x.dtype, out);
}

export function transpose(x: Tensor, perm: number[]): Tensor {
  const ok = perm.length === x.rank && [...perm].sort((p, q) => p - q).every((p, i) => p === i);
  if (!ok) throw new ShapeError(`transpose: permutation [${perm}] does not fit ${fmt(x.shape)}`);
  return x.graph.node('transpose', [x], { perm }, x.dtype, perm.map((p) => x.shape[p]));
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis('unsqueeze', axis, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

export function squeeze(x: Tensor, axis: number): Tensor {
  const a = normAxis('squeeze', axis, x.rank);
  if (x.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${axis} of ${fmt(x.shape)} is not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

/** Broadcast x to `shape` (NumPy rules). */
export function expand(x: Tensor, shape: Shape): Tensor {
  const out = broadcastShapes('expand', [x.shape, shape]);
  if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`expand: ${fmt(x.shape)} does not expand to ${fmt(shape)}`);
  }
  return x.graph.node('expand', [x], { shape: out }, x.dtype, out);
}

export function concat(xs: Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: no tensors');
  const first = xs[0];
  const a = normAxis('concat', axis, first.rank);
  for (const x of xs) {
    const ok = x.rank === first.rank && x.dtype === first.dtype && x.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!ok) throw new ShapeError(`concat: ${xs.map((t) => fmt(t.shape)).join(', ')} differ off axis ${axis}`);
  }
  const shape = [...first.shape];
  shape[a] = dimSum(xs.map((x) => x.shape[a]), 'concat');
  return first.graph.node('concat', xs, { axis: a }, first.dtype, shape);
}

function dimSum(dims: Dim[], op: string): Dim {
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((p, q) => p + q, 0);
  const nonzero = dims.filter((d) => d !== 0);
  if (nonzero.length === 1) return nonzero[0];
  throw new ShapeError(`${op}: cannot add symbolic sizes ${dims.join(' + ')}`);
}

export interface SliceSpec {
  axes: number[];
  starts: number[];
  ends: Dim[]; // END (or any number past the size) means "to the end"; a symbolic end starts at 0
  steps?: number[];
}

/** Basic slicing with positive steps. Negative starts/ends count from the end of static axes. */
export function slice(x: Tensor, spec: SliceSpec): Tensor {
  const shape = [...x.shape];
  const axes = spec.axes.map((a) => normAxis('slice', a, x.rank));
  const steps = spec.steps ?? axes.map(() => 1);
  const starts: number[] = [];
  const ends: Dim[] = [];
  axes.forEach((a, i) => {
    const d = shape[a];
    let s = spec.starts[i];
    let e = spec.ends[i];
    const st = steps[i];
    if (!(Number.isInteger(st) && st > 0)) throw new ShapeError(`slice: step ${st} must be a positive integer`);
    if (typeof d === 'number') {
      if (typeof e === 'string') throw new ShapeError(`slice: symbolic end ${e} on static axis of size ${d}`);
      s = Math.min(Math.max(s < 0 ? s + d : s, 0), d);
      e = Math.min(Math.max(e < 0 ? e + d : e, 0), d);
      shape[a] = Math.max(0, Math.ceil((e - s) / st));
    } else if (typeof e === 'string') {
      if (s !== 0 || st !== 1) throw new ShapeError(`slice: a symbolic end (${e}) needs start 0 and step 1`);
      shape[a] = e;
    } else if (e >= END / 2 && s === 0 && st === 1) {
      shape[a] = d;
    } else if (s >= 0 && e >= 0 && e < END / 2) {
      shape[a] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      throw new ShapeError(`slice: cannot slice symbolic axis ${d} from ${s} to ${e}`);
    }
    starts.push(s);
    ends.push(e);
  });
  return x.graph.node('slice', [x], { axes, starts, ends, steps }, x.dtype, shape);
}

/** Split along an axis into pieces of the given static sizes. */
export function split(x: Tensor, sizes: number[], axis: number): Tensor[] {
  const a = normAxis('split', axis, x.rank);
  const d = x.shape[a];
  const total = sizes.reduce((p, q) => p + q, 0);
  if (typeof d === 'number' && total !== d) throw new ShapeError(`split: sizes [${sizes}] do not add up to ${d} (axis ${axis} of ${fmt(x.shape)})`);
  let at = 0;
  return sizes.map((n) => {
    const piece = slice(x, { axes: [a], starts: [at], ends: [at + n] });
    at += n;
    return piece;
  });
}

/** Zero padding with static amounts: pads[i] = [before, after] for each axis; `outShape` names the result. */
export function pad(x: Tensor, pads: [number, number][], outShape: Shape): Tensor {
  if (pads.length !== x.rank || outShape.length !== x.rank) throw new ShapeError(`pad: ${pads.length} pads for ${fmt(x.shape)}`);
  x.shape.forEach((d, i) => {
    const [b, e] = pads[i];
    const want = typeof d === 'number' ? d + b + e : b + e === 0 ? d : null;
    if (want === null && typeof outShape[i] === 'number') throw new ShapeError(`pad: axis ${i} of ${fmt(x.shape)} padded to ${outShape[i]}`);
    if (want !== null && want !== outShape[i] && typeof outShape[i] === 'number') {
      throw new ShapeError(`pad: axis ${i} of ${fmt(x.shape)} padded by [${b}, ${e}] is ${want}, not ${outShape[i]}`);
    }
  });
  return x.graph.node('pad', [x], { pads }, x.dtype, outShape);
}

// ── indexing ──────────────────────────────────────────────────────────────────
/** Rows of `data` (axis 0) picked by integer `indices`: embeddings. Out: [...indices, ...data[1:]]. */
export function gather(data: Tensor, indices: Tensor): Tensor {
  if (indices.dtype !== 'int64' && indices.dtype !== 'int32') throw new ShapeError(`gather: indices must be int64, got ${indices.dtype}`);
  if (data.rank < 1) throw new ShapeError('gather: data must have rank >= 1');
  return data.graph.node('gather', [data, indices], {}, data.dtype, [...indices.shape, ...data.shape.slice(1)]);
}

/** out[i][j] = data[i][indices[i][j]] along `axis` (ONNX GatherElements): picking label log-probs. */
export function gatherElements(data: Tensor, indices: Tensor, axis: number): Tensor {
  const a = normAxis('gatherElements', axis, data.rank);
  if (indices.dtype !== 'int64') throw new ShapeError(`gatherElements: indices must be int64, got ${indices.dtype}`);
  const ok = indices.rank === data.rank && indices.shape.every((d, i) => i === a || d === data.shape[i]);
  if (!ok) throw new ShapeError(`gatherElements: indices ${fmt(indices.shape)} do not fit data ${fmt(data.shape)} on axis ${axis}`);
  return data.graph.node('gatherElements', [data, indices], { axis: a }, data.dtype, indices.shape);
}

/** data with `updates` added at rows `indices` (indices [..., 1]); the gradient of gather. */
export function scatterNDAdd(data: Tensor, indices: Tensor, updates: Tensor): Tensor {
  return data.graph.node('scatterNDAdd', [data, indices, updates], {}, data.dtype, data.shape);
}

/** data with `updates` added at `indices` along `axis`; the gradient of gatherElements. */
export function scatterElementsAdd(data: Tensor, indices: Tensor, updates: Tensor, axis: number): Tensor {
  return data.graph.node('scatterElementsAdd', [data, indices, updates], { axis: normAxis('scatter', axis, data.rank) }, data.dtype, data.shape);
}

// ── reductions ────────────────────────────────────────────────────────────────
function reduce(op: 'reduceSum' | 'reduceSumSquare' | 'reduceMean' | 'reduceMax', x: Tensor, axes: number | number[] | undefined, keepdims: boolean): Tensor {
  requireFloat(op, x);
  const list = axes === undefined ? x.shape.map((_, i) => i) : (Array.isArray(axes) ? axes : [axes]).map((a) => normAxis(op, a, x.rank));
  const set = [...new Set(list)].sort((p, q) => p - q);
  const shape = keepdims ? x.shape.map((d, i) => (set.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !set.includes(i));
  return x.graph.node(op, [x], { axes: set, keepdims }, x.dtype, shape);
}
export const sum = (x: Tensor, axes?: number | number[], keepdims = false): Tensor => reduce('reduceSum', x, axes, keepdims);
/** Σ x² over `axes` in one pass: no tensor of x's size is made (the gradient norm of a train step). */
export const sumSquares = (x: Tensor, axes?: number | number[], keepdims = false): Tensor => reduce('reduceSumSquare', x, axes, keepdims);
export const mean = (x: Tensor, axes?: number | number[], keepdims = false): Tensor => reduce('reduceMean', x, axes, keepdims);
export const reduceMax = (x: Tensor, axes?: number | number[], keepdims = false): Tensor => reduce('reduceMax', x, axes, keepdims);

/** Index of the largest value along `axis` (the first on ties), as int64; the axis is removed. */
export function argmax(x: Tensor, axis = -1): Tensor {
  requireFloat('argmax', x);
  const a = normAxis('argmax', axis, x.rank);
  return x.graph.node('argmax', [x], { axis: a }, 'int64', x.shape.filter((_, i) => i !== a));
}

export function softmax(x: Tensor, axis = -1): Tensor {
  requireFloat('softmax', x);
  return x.graph.node('softmax', [x], { axis: normAxis('softmax', axis, x.rank) }, x.dtype, x.shape);
}

/** log(softmax(x)), computed stably in one op (a fused primitive because of its numerics). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  requireFloat('logSoftmax', x);
  return x.graph.node('logSoftmax', [x], { axis: normAxis('logSoftmax', axis, x.rank) }, x.dtype, x.shape);
}

// ── types, constants, helpers ─────────────────────────────────────────────────
export function cast(x: Tensor, to: DType): Tensor {
  return x.dtype === to ? x : x.graph.node('cast', [x], { to }, to, x.shape);
}

/**
 * x (float32) rounded to bfloat16 stochastically: up to the next bfloat16 away from zero with
 * probability equal to the distance from the one toward zero, in ulps, so E[round(x)] = x. The
 * random bits are the low 16 bits of the Weyl sequence noise + j·40503 over the index j along the
 * last axis (the same for every row, which keeps the noise a vector), where `noise` (int64 scalar)
 * is fed a fresh uniform draw per run: for every element, the roundings of successive runs are
 * independent and uniform, so each is unbiased; within a run, elements of one column round
 * alike. Rounding to nearest would lose every change smaller than half an ulp (2⁻⁹ of the
 * value), e.g. all of an Adam second moment's (1 − β2)·g² increments once they are 0.2% of it,
 * which stochastic rounding keeps in expectation (Gupta et al. 2015, "Deep learning with limited
 * numerical precision"). Exported with BitCast (opset 26): the sum of the float32 bits and the
 * noise, shifted right by 16. No gradient.
 */
export function roundBf16(x: Tensor, noise: Tensor): Tensor {
  if (x.dtype !== 'float32') throw new ShapeError(`roundBf16: expected float32, got ${x}`);
  if (noise.dtype !== 'int64' || noise.rank !== 0) throw new ShapeError(`roundBf16: noise must be an int64 scalar, got ${noise}`);
  if (!x.shape.every((d) => typeof d === 'number')) throw new ShapeError(`roundBf16: the shape of ${x} must be static`);
  return x.graph.node('roundBf16', [x, noise], {}, 'bfloat16', x.shape);
}

/**
 * `w` itself, but computed only once `x` exists (ONNX: a Reshape of w to its own shape by a
 * shape that reads one value of x). ONNX Runtime runs nodes that depend on graph inputs only as
 * early as it likes; a 16-bit weight widened through `after(w, layerInput)` is widened when its
 * layer runs, so one layer's float32 copy exists at a time. Gradient: to w.
 */
export const after = (w: Tensor, x: Tensor): Tensor => w.graph.node('after', [w, x], {}, w.dtype, w.shape);

/** Identity forward, no gradient backward. */
export const stopGradient = (x: Tensor): Tensor => x.graph.node('stopGradient', [x], {}, x.dtype, x.shape);

/** 0, 1, ..., n-1 as int64; n may be symbolic (positions of a sequence). */
export function range(g: Graph, n: Dim): Tensor {
  return g.node('range', [], { n }, 'int64', [n]);
}

/** The product of some (symbolic) sizes as a scalar of `dtype`, known only at run time. */
export function sizeOf(g: Graph, dims: Dim[], dtype: DType = 'float32'): Tensor {
  const p = dimProduct(dims);
  return typeof p === 'number' ? g.scalar(p, dtype) : g.node('dimProduct', [], { dims: [p] }, dtype, []);
}

/** A tensor of `value` with the given shape (a broadcast scalar, so it costs nothing). */
export function full(g: Graph, shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  const s = g.scalar(value, dtype);
  return shape.length === 0 ? s : expand(s, shape);
}

export const zerosLike = (x: Tensor): Tensor => full(x.graph, x.shape, 0, x.dtype);
