// Parameters as one table of (name, shape, value), llm.c-style: the same table drives graph
// inputs, initial values, checkpoints and optimiser state. Each parameter is a float32 graph
// input, so training updates never recompile anything.

import { type HostTensor } from '../engine/dtype.ts';
import { LetheError } from '../engine/errors.ts';
import type { Graph, Tensor } from '../engine/graph.ts';
import { Rng } from '../engine/random.ts';

export type Init = { kind: 'zeros' } | { kind: 'ones' } | { kind: 'normal'; std: number } | { kind: 'value'; value: HostTensor };

export const zeros: Init = { kind: 'zeros' };
export const ones: Init = { kind: 'ones' };
export const normal = (std: number): Init => ({ kind: 'normal', std });

export class Params {
  readonly tensors = new Map<string, Tensor>();
  readonly values = new Map<string, HostTensor>();
  private readonly rng: Rng;

  constructor(readonly graph: Graph, seed = 0) {
    this.rng = new Rng(seed);
  }

  /** Declare a parameter: a float32 graph input named `name`, with its initial value. */
  create(name: string, shape: number[], init: Init): Tensor {
    if (this.tensors.has(name)) throw new LetheError(`parameter "${name}" is declared twice`);
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    switch (init.kind) {
      case 'zeros':
        data = new Float32Array(n);
        break;
      case 'ones':
        data = new Float32Array(n).fill(1);
        break;
      case 'normal':
        data = this.rng.normalArray(n, init.std);
        break;
      case 'value':
        if (init.value.data.length !== n) throw new LetheError(`parameter "${name}": value has ${init.value.data.length} elements, shape [${shape}] needs ${n}`);
        data = init.value.data as Float32Array;
    }
    const t = this.graph.input(name, 'float32', shape);
    this.tensors.set(name, t);
    this.values.set(name, { dtype: 'float32', shape, data });
    return t;
  }

  get list(): Tensor[] {
    return [...this.tensors.values()];
  }

  /** Total number of scalars. */
  get count(): number {
    let n = 0;
    for (const v of this.values.values()) n += v.data.length;
    return n;
  }
}
