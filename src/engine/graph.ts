// The graph: symbolic tensors, each the single output of one primitive op. Nodes are created in
// topological order (an op's inputs always exist before it), so a reverse walk over ids is a
// valid order for autodiff and a forward walk for export.

import { DTYPES, type DType, type HostTensor } from './dtype.ts';
import { ShapeError } from './errors.ts';
import { dimSymbols, fmt, type Dim, type Shape } from './shape.ts';

/** Every primitive the engine has. Gradient rules and ONNX emitters are tables over this type. */
export type OpName =
  | 'input' | 'constant'
  | 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'pow'
  | 'neg' | 'sqrt' | 'exp' | 'log' | 'abs' | 'sign' | 'tanh' | 'erf' | 'sigmoid' | 'relu' | 'reciprocal'
  | 'where' | 'clip'
  | 'equal' | 'less' | 'greater' | 'lessOrEqual' | 'greaterOrEqual' | 'and' | 'or' | 'not'
  | 'matmul'
  | 'reshape' | 'transpose' | 'expand' | 'concat' | 'slice' | 'pad'
  | 'gather' | 'gatherElements' | 'scatterNDAdd' | 'scatterElementsAdd'
  | 'reduceSum' | 'reduceSumSquare' | 'reduceMean' | 'reduceMax' | 'argmax'
  | 'softmax' | 'logSoftmax'
  | 'cast' | 'stopGradient' | 'range' | 'dimProduct' | 'after' | 'roundBf16';

/** Attributes per op; kept loose here and read by the op's own rule and emitter. */
export type Attrs = Record<string, unknown>;

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly op: OpName,
    readonly inputs: readonly Tensor[],
    readonly attrs: Attrs,
    readonly dtype: DType,
    readonly shape: readonly Dim[],
    public name?: string,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name ?? `%${this.id}`}:${this.op}${fmt(this.shape)}:${this.dtype}`;
  }
}

export class Graph {
  readonly nodes: Tensor[] = [];
  /**
   * Gradient checkpointing: tensors (layer boundaries, in creation order) whose segments between
   * them `grad` recomputes in the backward pass instead of keeping (autodiff.ts). Empty: off.
   */
  readonly checkpoints: Tensor[] = [];
  private readonly inputNames = new Set<string>();

  /** A named graph input (data, parameters, optimiser state). Symbolic dims are named here. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    if (this.inputNames.has(name)) throw new ShapeError(`input: a graph input named "${name}" already exists`);
    for (const d of shape) {
      if (typeof d === 'number' && !(Number.isInteger(d) && d >= 0)) throw new ShapeError(`input ${name}: bad dimension ${d}`);
      if (typeof d === 'string' && dimSymbols(d).length !== 1) throw new ShapeError(`input ${name}: symbolic dimension "${d}" must be a single name`);
    }
    this.inputNames.add(name);
    return this.node('input', [], { name }, dtype, shape, name);
  }

  /** A constant tensor baked into the program. */
  constant(value: HostTensor, name?: string): Tensor {
    return this.node('constant', [], { value }, value.dtype, value.shape, name);
  }

  /** A scalar constant of the given dtype. */
  scalar(value: number, dtype: DType = 'float32'): Tensor {
    const data = new DTYPES[dtype].array(1);
    data[0] = (dtype === 'int64' ? BigInt(Math.trunc(value)) : value) as never;
    return this.constant({ dtype, shape: [], data });
  }

  node(op: OpName, inputs: readonly Tensor[], attrs: Attrs, dtype: DType, shape: readonly Dim[], name?: string): Tensor {
    for (const t of inputs) {
      if (t.graph !== this) throw new ShapeError(`${op}: input ${t} belongs to another graph`);
    }
    const t = new Tensor(this, this.nodes.length, op, inputs, attrs, dtype, [...shape], name);
    this.nodes.push(t);
    return t;
  }
}
