// A model's parameter table seen from one graph: each parameter becomes a float32 graph input
// named after it (so training updates never recompile anything) the first time a layer asks
// for it, unless the caller hands in a tensor to use instead (the same parameters shared by two
// forward passes in one graph, or frozen values baked in as constants).

import type { HostTensor } from '../engine/dtype.ts';
import { LetheError } from '../engine/errors.ts';
import type { Graph, Tensor } from '../engine/graph.ts';

/** Parameter name → value on the host. */
export type ParamTable = ReadonlyMap<string, HostTensor>;

export interface ParamBindingOptions {
  /** Prefix of the graph input names (two models in one graph); default none. */
  prefix?: string;
  /** Tensors to use for some parameters instead of new graph inputs. */
  given?: ReadonlyMap<string, Tensor>;
}

export class ParamBinding {
  /** Every parameter used so far, by name: its graph input (or the given tensor). */
  readonly tensors = new Map<string, Tensor>();
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
    let t = this.tensors.get(name);
    if (t) return t;
    const value = this.table.get(name);
    if (!value) throw new LetheError(`model has no parameter "${name}"`);
    t = this.given.get(name) ?? this.graph.input(this.prefix + name, 'float32', value.shape);
    this.tensors.set(name, t);
    return t;
  }

  /** `get(name)` when the parameter exists, else undefined (optional biases). */
  maybe(name: string): Tensor | undefined {
    return this.has(name) ? this.get(name) : undefined;
  }
}
