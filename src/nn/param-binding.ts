// A model's parameter table seen from one graph: each parameter becomes a float32 graph input
// named after it (so training updates never recompile anything) the first time a layer asks
// for it, unless the caller hands in a tensor to use instead (the same parameters shared by two
// forward passes in one graph, or frozen values baked in as constants).

import { isHalf, type HostTensor } from '../engine/dtype.ts';
import { LetheError } from '../engine/errors.ts';
import type { Graph, Tensor } from '../engine/graph.ts';
import { after, cast } from '../engine/ops.ts';

/** Parameter name → value on the host. */
export type ParamTable = ReadonlyMap<string, HostTensor>;

export interface ParamBindingOptions {
  /** Prefix of the graph input names (two models in one graph); default none. */
  prefix?: string;
  /** Tensors to use for some parameters instead of new graph inputs. */
  given?: ReadonlyMap<string, Tensor>;
}

export class ParamBinding {
  /**
   * Every parameter used so far, by name: its graph input (or the given tensor). A weight kept at
   * its checkpoint's precision (bfloat16/float16) is an input of that type; layers get it cast
   * to float32 (exact), so the program holds the 16-bit copy and each float32 one only while used.
   */
  readonly tensors = new Map<string, Tensor>();
  private readonly widened = new Map<string, Tensor>();
  private readonly prefix: string;
  private readonly given: ReadonlyMap<string, Tensor>;

  constructor(readonly graph: Graph, readonly table: ParamTable, options: ParamBindingOptions = {}) {
    this.prefix = options.prefix ?? '';
    this.given = options.given ?? new Map();
  }

  has(name: string): boolean {
    return this.table.has(name);
  }

  /** The tensor of parameter `name`, created as a graph input on first use. */
  get(name: string): Tensor {
    const known = this.widened.get(name);
    if (known) return known;
    const value = this.table.get(name);
    if (!value) throw new LetheError(`model has no parameter "${name}"`);
    const t = this.given.get(name) ?? this.graph.input(this.prefix + name, isHalf(value.dtype) ? value.dtype : 'float32', value.shape);
    this.tensors.set(name, t);
    const f = isHalf(t.dtype) ? cast(t, 'float32') : t;
    this.widened.set(name, f);
    return f;
  }

  /**
   * `get(name)` for a weight read by a layer whose input is `x`: a 16-bit weight is widened only
   * once `x` exists. ONNX Runtime otherwise runs every weight's Cast at the start (they depend on
   * graph inputs only), holding all float32 copies at once (ops.after).
   */
  getAfter(name: string, x: Tensor): Tensor {
    const value = this.table.get(name);
    if (!value || !isHalf(value.dtype)) return this.get(name);
    this.get(name); // registers the input
    const t = this.tensors.get(name)!;
    return cast(after(t, x), 'float32');
  }

  /** The tensor of parameter `name` as held: a 16-bit weight's own input, not widened (row gathers, slices). */
  raw(name: string): Tensor {
    this.get(name);
    return this.tensors.get(name)!;
  }

  /** `get(name)` when the parameter exists, else undefined (optional biases). */
  maybe(name: string): Tensor | undefined {
    return this.has(name) ? this.get(name) : undefined;
  }
}
