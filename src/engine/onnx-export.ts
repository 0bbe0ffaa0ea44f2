// Lower a graph to an ONNX model (opset 17), one emitter per primitive. Symbolic dimensions are
// resolved at run time from the graph inputs that carry them (Shape → Gather), or replaced by
// numbers when a program is specialised to one shape bucket (then ORT folds them as constants).

import onnxProto from 'onnx-proto';
import { DTYPES, type DType, type HostTensor } from './dtype.ts';
import { ShapeError } from './errors.ts';
import type { OpName, Tensor } from './graph.ts';
import { END } from './ops.ts';
import { bindDim, dimCoefficient, dimSymbols, type Dim } from './shape.ts';

const { onnx } = onnxProto;
export const OPSET = 17;
/**
 * Opset of a program that takes bfloat16 inputs: ONNX Runtime's JavaScript API has no bfloat16
 * tensors, so they are fed as uint16 and reinterpreted by BitCast (opset 26). Other programs stay
 * at 17 so ONNX Runtime's fusions, written against those op versions, keep applying.
 */
export const OPSET_BITCAST = 26;
const UINT16 = 4;
const UINT32 = 12;
/** Ops that only move elements (their first input's), so they run the same on bfloat16's uint16 bits. */
const MOVES_ELEMENTS: ReadonlySet<OpName> = new Set(['gather', 'slice', 'reshape', 'transpose', 'after']);
const INT64_MAX = 9223372036854775807n;
/** The step of roundBf16's Weyl sequence: odd, so its low 16 bits visit every value once in 65536 positions. */
const WEYL_STEP = 40503;

type Attr = number | number[] | string;

class Emitter {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly cache = new Map<string, string>();
  private counter = 0;

  constructor(
    readonly bindings: ReadonlyMap<string, number>,
    private readonly symbolSource: ReadonlyMap<string, { input: string; axis: number }>,
    readonly opset: number,
  ) {}

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? this.fresh(opType.toLowerCase());
    const attribute = Object.entries(attrs).map(([name, v]) => toAttribute(name, v));
    this.nodes.push({ opType, input: inputs, output: [out], attribute, name: out });
    return out;
  }

  constant(value: HostTensor, name?: string): string {
    const n = name ?? this.fresh('const');
    const d = value.data;
    this.initializers.push({
      name: n,
      dataType: DTYPES[value.dtype].onnx,
      dims: value.shape,
      rawData: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
    });
    return n;
  }

  memo(key: string, make: () => string): string {
    let v = this.cache.get(key);
    if (v === undefined) {
      v = make();
      this.cache.set(key, v);
    }
    return v;
  }

  ints(values: (number | bigint)[], scalar = false): string {
    return this.memo(`i64:${scalar}:${values.join(',')}`, () =>
      this.constant({ dtype: 'int64', shape: scalar ? [] : [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) }),
    );
  }

  scalarOf(value: number, dtype: DType): string {
    return this.memo(`s:${dtype}:${value}`, () => {
      const data = new DTYPES[dtype].array(1);
      data[0] = (dtype === 'int64' ? BigInt(value) : value) as never;
      return this.constant({ dtype, shape: [], data });
    });
  }

  uint32(value: number): string {
    return this.memo(`u32:${value}`, () => {
      const n = this.fresh('const');
      this.initializers.push({ name: n, dataType: UINT32, dims: [], rawData: new Uint8Array(Uint32Array.of(value).buffer) });
      return n;
    });
  }

  /** A dimension as an int64 scalar. */
  dimScalar(d: Dim): string {
    const bound = bindDim(d, this.bindings);
    if (typeof bound === 'number') return this.ints([bound], true);
    return this.memo(`dim:${bound}`, () => {
      let acc: string | null = null;
      for (const s of dimSymbols(bound)) {
        const src = this.symbolSource.get(s);
        if (!src) throw new ShapeError(`export: symbolic dimension "${s}" is not carried by any graph input`);
        const shape = this.memo(`shape:${src.input}`, () => this.node('Shape', [src.input]));
        const v = this.node('Gather', [shape, this.ints([src.axis], true)], { axis: 0 });
        acc = acc === null ? v : this.node('Mul', [acc, v]);
      }
      const coef = dimCoefficient(bound);
      return coef === 1 ? acc! : this.node('Mul', [acc!, this.ints([coef], true)]);
    });
  }

  /** A shape as an int64 vector. */
  shapeOf(dims: readonly Dim[]): string {
    const bound = dims.map((d) => bindDim(d, this.bindings));
    if (bound.every((d) => typeof d === 'number')) return this.ints(bound as number[]);
    return this.memo(`shapeof:${bound.join(',')}`, () =>
      this.node('Concat', bound.map((d) => (typeof d === 'number' ? this.ints([d]) : this.node('Unsqueeze', [this.dimScalar(d), this.ints([0])]))), { axis: 0 }),
    );
  }
}

function toAttribute(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
}

type Lower = (e: Emitter, t: Tensor, ins: string[], out: string) => void;
const simple = (opType: string): Lower => (e, _t, ins, out) => void e.node(opType, ins, {}, out);

const EMITTERS: Record<OpName, Lower> = {
  input: () => {},
  constant: (e, t, _ins, out) => void e.constant(t.attrs.value as HostTensor, out),
  add: simple('Add'), sub: simple('Sub'), mul: simple('Mul'), div: simple('Div'),
  max: simple('Max'), min: simple('Min'), pow: simple('Pow'),
  neg: simple('Neg'), sqrt: simple('Sqrt'), exp: simple('Exp'), log: simple('Log'), abs: simple('Abs'),
  sign: simple('Sign'), tanh: simple('Tanh'), erf: simple('Erf'), sigmoid: simple('Sigmoid'),
  relu: simple('Relu'), reciprocal: simple('Reciprocal'), where: simple('Where'),
  clip: (e, t, ins, out) => {
    const { min, max } = t.attrs as { min: number; max: number };
    e.node('Clip', [ins[0], e.scalarOf(min, t.dtype), e.scalarOf(max, t.dtype)], {}, out);
  },
  equal: simple('Equal'), less: simple('Less'), greater: simple('Greater'),
  lessOrEqual: simple('LessOrEqual'), greaterOrEqual: simple('GreaterOrEqual'),
  and: simple('And'), or: simple('Or'), not: simple('Not'),
  matmul: simple('MatMul'),
  reshape: (e, t, ins, out) => void e.node('Reshape', [ins[0], e.shapeOf(t.shape)], {}, out),
  transpose: (e, t, ins, out) => void e.node('Transpose', ins, { perm: t.attrs.perm as number[] }, out),
  expand: (e, t, ins, out) => void e.node('Expand', [ins[0], e.shapeOf(t.shape)], {}, out),
  concat: (e, t, ins, out) => void e.node('Concat', ins, { axis: t.attrs.axis as number }, out),
  slice: (e, t, ins, out) => {
    const { axes, starts, ends, steps } = t.attrs as { axes: number[]; starts: number[]; ends: Dim[]; steps: number[] };
    const endsBound = ends.map((d) => bindDim(d, e.bindings));
    const endsName = endsBound.every((d) => typeof d === 'number')
      ? e.ints((endsBound as number[]).map((v) => (v >= END / 2 ? INT64_MAX : BigInt(v))))
      : e.shapeOf(endsBound);
    e.node('Slice', [ins[0], e.ints(starts), endsName, e.ints(axes), e.ints(steps)], {}, out);
  },
  pad: (e, t, ins, out) => {
    const pads = t.attrs.pads as [number, number][];
    e.node('Pad', [ins[0], e.ints([...pads.map((p) => p[0]), ...pads.map((p) => p[1])]), e.scalarOf(0, t.dtype)], { mode: 'constant' }, out);
  },
  gather: (e, _t, ins, out) => void e.node('Gather', ins, { axis: 0 }, out),
  gatherElements: (e, t, ins, out) => void e.node('GatherElements', ins, { axis: t.attrs.axis as number }, out),
  scatterNDAdd: (e, _t, ins, out) => void e.node('ScatterND', ins, { reduction: 'add' }, out),
  scatterElementsAdd: (e, t, ins, out) => void e.node('ScatterElements', ins, { axis: t.attrs.axis as number, reduction: 'add' }, out),
  reduceSum: (e, t, ins, out) => {
    const { axes, keepdims } = t.attrs as { axes: number[]; keepdims: boolean };
    e.node('ReduceSum', [ins[0], e.ints(axes)], { keepdims: keepdims ? 1 : 0 }, out);
  },
  reduceSumSquare: (e, t, ins, out) => reduceWithAxes(e, 'ReduceSumSquare', t, ins, out),
  reduceMean: (e, t, ins, out) => reduceWithAxes(e, 'ReduceMean', t, ins, out),
  reduceMax: (e, t, ins, out) => reduceWithAxes(e, 'ReduceMax', t, ins, out),
  argmax: (e, t, ins, out) => void e.node('ArgMax', ins, { axis: t.attrs.axis as number, keepdims: 0, select_last_index: 0 }, out),
  softmax: (e, t, ins, out) => void e.node('Softmax', ins, { axis: t.attrs.axis as number }, out),
  logSoftmax: (e, t, ins, out) => void e.node('LogSoftmax', ins, { axis: t.attrs.axis as number }, out),
  cast: (e, t, ins, out) => void e.node('Cast', ins, { to: DTYPES[t.dtype].onnx }, out),
  stopGradient: simple('Identity'),
  range: (e, t, _ins, out) => void e.node('Range', [e.ints([0], true), e.dimScalar(t.attrs.n as Dim), e.ints([1], true)], {}, out),
  after: (e, t, ins, out) => {
    // shape(w) + 0·int64(x.flat[0]): not foldable (it reads x's values), equal to w's shape.
    const first = e.node('Slice', [e.node('Reshape', [ins[1], e.ints([-1])]), e.ints([0]), e.ints([1]), e.ints([0])]);
    const zero = e.node('Mul', [e.node('Cast', [first], { to: DTYPES.int64.onnx }), e.ints([0])]);
    const shape = e.node('Add', [e.shapeOf(t.shape), zero]);
    e.node('Reshape', [ins[0], shape], {}, out);
  },
  // The bfloat16 bits (uint16) of x rounded stochastically (ops.ts, roundBf16): (bits(x) + r) >> 16
  // with r the low 16 bits of noise + j·K along the last axis, broadcast over the others (a
  // full-size noise tensor would be a parameter's worth of temporaries: 0.75 GB for a 47M-value
  // embedding). Made once per last-axis size and shared by every tensor rounded in the program.
  roundBf16: (e, t, ins, out) => {
    const shape = t.shape as number[];
    const last = shape.length === 0 ? 1 : shape[shape.length - 1];
    const noise = e.memo(`roundBf16:${ins[1]}:${last}`, () => {
      const seq = e.node('Range', [ins[1], e.node('Add', [ins[1], e.ints([last * WEYL_STEP], true)]), e.ints([WEYL_STEP], true)]);
      return e.node('Cast', [e.node('Cast', [seq], { to: UINT16 })], { to: UINT32 });
    });
    const sum = e.node('Add', [e.node('BitCast', [ins[0]], { to: UINT32 }), noise]);
    e.node('Cast', [e.node('BitShift', [sum, e.uint32(16)], { direction: 'RIGHT' })], { to: UINT16 }, out);
  },
  dimProduct: (e, t, _ins, out) => void e.node('Cast', [e.dimScalar((t.attrs.dims as Dim[])[0])], { to: DTYPES[t.dtype].onnx }, out),
};

/** ReduceMean/ReduceMax: axes an attribute up to opset 17, an input from 18. */
function reduceWithAxes(e: Emitter, op: string, t: Tensor, ins: string[], out: string): void {
  const { axes, keepdims } = t.attrs as { axes: number[]; keepdims: boolean };
  if (e.opset >= 18) e.node(op, [ins[0], e.ints(axes)], { keepdims: keepdims ? 1 : 0 }, out);
  else e.node(op, ins, { axes, keepdims: keepdims ? 1 : 0 }, out);
}

function valueInfo(name: string, dtype: DType, shape: readonly Dim[], bindings: ReadonlyMap<string, number>, elemType = DTYPES[dtype].onnx): onnxProto.onnx.IValueInfoProto {
  const dim = shape.map((d) => {
    const b = bindDim(d, bindings);
    return typeof b === 'number' ? { dimValue: b } : { dimParam: b };
  });
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

export interface ExportSpec {
  inputs: readonly Tensor[];
  outputs: Readonly<Record<string, Tensor>>;
  /** Symbol values to bake in (a shape bucket); unbound symbols stay dynamic. */
  bindings?: ReadonlyMap<string, number>;
}

/** Serialise the part of the graph that the outputs need. */
export function exportOnnx(spec: ExportSpec): Uint8Array {
  const bindings = spec.bindings ?? new Map<string, number>();
  const outputs = Object.entries(spec.outputs);
  if (outputs.length === 0) throw new ShapeError('export: a program needs at least one output');
  const graph = outputs[0][1].graph;
  const inputIds = new Set(spec.inputs.map((t) => t.id));
  for (const t of spec.inputs) if (t.op !== 'input') throw new ShapeError(`export: ${t} is not a graph input`);
  for (const [name] of outputs) {
    if (spec.inputs.some((t) => t.name === name)) throw new ShapeError(`export: output "${name}" has the name of an input`);
  }

  // Which nodes the outputs need.
  const needed = new Uint8Array(graph.nodes.length);
  const stack = outputs.map(([, t]) => t);
  while (stack.length) {
    const t = stack.pop()!;
    if (needed[t.id]) continue;
    needed[t.id] = 1;
    stack.push(...t.inputs);
  }
  for (let i = 0; i < needed.length; i++) {
    const t = graph.nodes[i];
    if (needed[i] && t.op === 'input' && !inputIds.has(i)) throw new ShapeError(`export: the outputs need input "${t.name}", which the program does not take`);
  }

  const symbolSource = new Map<string, { input: string; axis: number }>();
  for (const t of spec.inputs) {
    t.shape.forEach((d, axis) => {
      if (typeof d === 'string' && !symbolSource.has(d)) symbolSource.set(d, { input: t.name!, axis });
    });
  }
  const opset = spec.inputs.some((t) => t.dtype === 'bfloat16') || graph.nodes.some((t, i) => needed[i] && t.op === 'roundBf16') ? OPSET_BITCAST : OPSET;
  const e = new Emitter(bindings, symbolSource, opset);
  // A node that computes an output writes it under the output's name directly: an Identity
  // into a graph output is a real copy in ORT (a parameter's worth of memory traffic per step).
  const outputName = new Map<number, string>();
  for (const [name, t] of outputs) if (t.op !== 'input' && !outputName.has(t.id)) outputName.set(t.id, name);
  // A bfloat16 input arrives as uint16 bits (program.ts). ONNX Runtime's BitCast copies, so the
  // bits are reinterpreted as late and as small as possible: ops that only move elements (a row
  // gather, a slice, `after`'s reshape) run on the uint16 bits, and a BitCast is emitted just
  // before the first node that reads values. ONNX Runtime runs nodes in file order where it can, so
  // the copies of a layer's weights exist only around that layer, and an embedding lookup copies
  // the rows it picks, not the table (reinterpreted whole, the table's copy lived from the lookup
  // to the tied output head).
  const bits = new Map<number, string>(); // tensor id → the name of its uint16 bits
  const reinterpreted = new Map<number, string>();
  for (const t of spec.inputs) if (t.dtype === 'bfloat16') bits.set(t.id, t.name!);
  const nameOf = (t: Tensor): string => (t.op === 'input' ? t.name! : (outputName.get(t.id) ?? `t${t.id}`));
  const valueOf = (x: Tensor): string => {
    const raw = bits.get(x.id);
    if (raw === undefined) return nameOf(x);
    let v = reinterpreted.get(x.id);
    if (!v) {
      v = `${nameOf(x)}.bf16`;
      e.node('BitCast', [raw], { to: DTYPES.bfloat16.onnx }, v);
      reinterpreted.set(x.id, v);
    }
    return v;
  };
  for (let i = 0; i < graph.nodes.length; i++) {
    if (!needed[i]) continue;
    const t = graph.nodes[i];
    const data = t.inputs[0];
    if (data && bits.has(data.id) && MOVES_ELEMENTS.has(t.op) && !outputName.has(t.id)) {
      const raw = `${nameOf(t)}.bits`;
      EMITTERS[t.op](e, t, t.inputs.map((x, k) => (k === 0 ? bits.get(x.id)! : valueOf(x))), raw);
      bits.set(t.id, raw);
      continue;
    }
    if (t.op === 'roundBf16') {
      // Its result is bfloat16 bits: an output as they are, BitCast where a value is read.
      const raw = outputName.has(t.id) ? nameOf(t) : `${nameOf(t)}.bits`;
      EMITTERS.roundBf16(e, t, t.inputs.map(valueOf), raw);
      bits.set(t.id, raw);
      continue;
    }
    EMITTERS[t.op](e, t, t.inputs.map(valueOf), nameOf(t));
  }
  for (const [name, t] of outputs) if (nameOf(t) !== name) e.node('Identity', [nameOf(t)], {}, name);
  const model = onnx.ModelProto.create({
    irVersion: opset >= OPSET_BITCAST ? 10 : 8,
    producerName: 'lethe',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'lethe',
      node: e.nodes,
      initializer: e.initializers,
      input: spec.inputs.map((t) => valueInfo(t.name!, t.dtype, t.shape, bindings, t.dtype === 'bfloat16' ? UINT16 : undefined)),
      output: outputs.map(([name, t]) => valueInfo(name, t.dtype, t.shape, bindings, t.dtype === 'bfloat16' ? UINT16 : undefined)),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
