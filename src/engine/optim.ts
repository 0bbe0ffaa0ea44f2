// Optimisers inside the step graph: gradients, global-norm clipping and the update are part of
// the same compiled program as the forward pass. Parameters and optimiser state are program
// inputs and the updated values are outputs; `TrainStep` keeps them in two sets of host buffers
// and swaps them each step, so nothing is copied between steps.

import { grad } from './autodiff.ts';
import { zerosHost, type HostTensor } from './dtype.ts';
import { LetheError, ShapeError } from './errors.ts';
import type { Tensor } from './graph.ts';
import * as o from './ops.ts';
import { compile, type CompileOptions, type Feeds, Program } from './program.ts';
import { fmt } from './shape.ts';

export interface SgdOptions {
  kind: 'sgd';
  /** Heavy-ball momentum as in torch.optim.SGD (buffer starts at the first gradient). */
  momentum?: number;
  weightDecay?: number;
  maxGradNorm?: number | null;
}

export interface AdamWOptions {
  kind: 'adamw';
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay (Loshchilov & Hutter): θ ← θ − lr·λ·θ before the Adam step. */
  weightDecay?: number;
  maxGradNorm?: number | null;
  /** Which parameters decay (default all). */
  decays?: (name: string) => boolean;
}

export type OptimizerOptions = SgdOptions | AdamWOptions;

export const ADAMW_DEFAULTS = { betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.01 };

/** State slots per parameter, by optimiser. */
function slotNames(opt: OptimizerOptions): string[] {
  if (opt.kind === 'adamw') return ['adam_m', 'adam_v'];
  return (opt.momentum ?? 0) > 0 ? ['momentum'] : [];
}

export interface TrainStepSpec {
  loss: Tensor;
  /** Trainable parameters: float32 graph inputs, each with a unique name. */
  params: readonly Tensor[];
  /** The other graph inputs the loss reads (token ids, masks, frozen tensors). */
  data: readonly Tensor[];
  optimizer: OptimizerOptions;
  /** Extra scalar or tensor outputs to report each step (e.g. per-term losses). */
  report?: Readonly<Record<string, Tensor>>;
}

const next = (name: string): string => `${name}.next`;

/**
 * Build the step graph: loss, gradients, clipping and the update, with inputs `optim.lr` and
 * `optim.step` (1-based, for Adam's bias correction).
 */
export function buildTrainStep(spec: TrainStepSpec, options?: CompileOptions): { program: Program; slots: string[]; inputs: Tensor[] } & { outputs: Record<string, Tensor> } {
  const { loss, params, optimizer: opt } = spec;
  const g = loss.graph;
  for (const p of params) {
    if (p.op !== 'input' || p.dtype !== 'float32') throw new ShapeError(`train step: parameter ${p} must be a float32 graph input`);
  }
  const lr = g.input('optim.lr', 'float32', []);
  const t = g.input('optim.step', 'float32', []);
  const grads = grad(loss, params);

  // Global gradient norm, and clipping as torch.nn.utils.clip_grad_norm_ does it. The clip
  // factor is a scalar folded into each optimiser's own scalars, not a pass over the gradients.
  const squares = grads.map((gr) => o.square(gr));
  const gradNorm = o.sqrt(squares.map((sq) => o.sum(sq)).reduce((a, b) => o.add(a, b)));
  const maxNorm = opt.maxGradNorm ?? null;
  const scale = maxNorm === null ? null : o.minimum(o.div(maxNorm, o.add(gradNorm, 1e-6)), 1);

  const slots = slotNames(opt);
  const inputs: Tensor[] = [...params, ...spec.data, lr, t];
  const outputs: Record<string, Tensor> = { loss, gradNorm, ...(spec.report ?? {}) };
  params.forEach((p, i) => {
    const state = slots.map((s) => g.input(`${p.name}.${s}`, 'float32', p.shape));
    inputs.push(...state);
    const updated = opt.kind === 'adamw'
      ? adamw(opt, p, grads[i], squares[i], scale, state, lr, t)
      : sgd(opt, p, scale ? o.mul(grads[i], scale) : grads[i], state, lr);
    outputs[next(p.name!)] = updated.param;
    state.forEach((s, k) => (outputs[next(s.name!)] = updated.state[k]));
  });
  return { program: compile(inputs, outputs, options), slots, inputs, outputs };
}

/**
 * torch.optim.AdamW, with the clip factor s applied to g:
 *   m ← β1·m + (1−β1)·s·g,  v ← β2·v + (1−β2)·s²·g²,  θ ← θ·(1 − lr·λ) − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
 * rearranged so that every per-element pass is needed: the last term is
 * (lr·√(1−β2ᵗ)/(1−β1ᵗ)) · m / (√v + ε·√(1−β2ᵗ)), with the scalars computed once.
 */
function adamw(opt: AdamWOptions, p: Tensor, gr: Tensor, grSquared: Tensor, scale: Tensor | null, [m, v]: Tensor[], lr: Tensor, t: Tensor) {
  const [b1, b2] = opt.betas ?? ADAMW_DEFAULTS.betas;
  const eps = opt.eps ?? ADAMW_DEFAULTS.eps;
  const wd = (opt.decays?.(p.name!) ?? true) ? (opt.weightDecay ?? ADAMW_DEFAULTS.weightDecay) : 0;
  const s1 = scale ? o.mul(scale, 1 - b1) : 1 - b1;
  const s2 = scale ? o.mul(o.square(scale), 1 - b2) : 1 - b2;
  const m2 = o.add(o.mul(m, b1), o.mul(gr, s1));
  const v2 = o.add(o.mul(v, b2), o.mul(grSquared, s2));
  // Bias corrections 1 − βᵗ as scalars, from t: βᵗ = exp(t·ln β).
  const bc1 = o.sub(1, o.exp(o.mul(t, Math.log(b1))));
  const sqrtBc2 = o.sqrt(o.sub(1, o.exp(o.mul(t, Math.log(b2)))));
  const stepSize = o.div(o.mul(lr, sqrtBc2), bc1);
  const update = o.div(m2, o.add(o.sqrt(v2), o.mul(sqrtBc2, eps)));
  const decayed = wd === 0 ? p : o.mul(p, o.sub(1, o.mul(lr, wd)));
  return { param: o.sub(decayed, o.mul(update, stepSize)), state: [m2, v2] };
}

function sgd(opt: SgdOptions, p: Tensor, gr: Tensor, state: Tensor[], lr: Tensor) {
  const wd = opt.weightDecay ?? 0;
  const d = wd === 0 ? gr : o.add(gr, o.mul(p, wd));
  if (state.length === 0) return { param: o.sub(p, o.mul(d, lr)), state: [] };
  const buf = o.add(o.mul(state[0], opt.momentum!), d);
  return { param: o.sub(p, o.mul(buf, lr)), state: [buf] };
}

/**
 * A compiled train step with its state. Each `run` feeds the current parameters and optimiser
 * state, writes the updated ones into the spare buffers, then swaps.
 */
export class TrainStep {
  private current = new Map<string, HostTensor>();
  private spare = new Map<string, HostTensor>();
  /** Steps taken so far. */
  step = 0;

  private constructor(
    readonly program: Program,
    readonly paramNames: string[],
    readonly stateNames: string[],
  ) {}

  static create(spec: TrainStepSpec, initial: ReadonlyMap<string, HostTensor>, options?: CompileOptions): TrainStep {
    const { program, slots } = buildTrainStep(spec, options);
    const paramNames = spec.params.map((p) => p.name!);
    const stateNames = paramNames.flatMap((n) => slots.map((s) => `${n}.${s}`));
    const ts = new TrainStep(program, paramNames, stateNames);
    for (const p of spec.params) {
      const v = initial.get(p.name!);
      if (!v) throw new LetheError(`train step: no initial value for parameter "${p.name}"`);
      if (v.dtype !== 'float32' || v.shape.length !== p.rank || v.shape.some((d, i) => d !== p.shape[i])) {
        throw new LetheError(`train step: parameter "${p.name}" is ${fmt(p.shape)}, initial value is ${v.dtype} ${fmt(v.shape)}`);
      }
      // Own copies: the caller's arrays are never written.
      ts.current.set(p.name!, { dtype: 'float32', shape: [...v.shape], data: Float32Array.from(v.data as Float32Array) });
      ts.spare.set(p.name!, zerosHost('float32', [...v.shape]));
      for (const s of slots) {
        ts.current.set(`${p.name}.${s}`, zerosHost('float32', [...v.shape]));
        ts.spare.set(`${p.name}.${s}`, zerosHost('float32', [...v.shape]));
      }
    }
    return ts;
  }

  /** The current value of a parameter or state tensor (a live view: copy it to keep it). */
  get(name: string): HostTensor {
    const v = this.current.get(name);
    if (!v) throw new LetheError(`train step: no parameter or state named "${name}"`);
    return v;
  }

  /** Replace parameters and state (resuming from a checkpoint). */
  load(values: ReadonlyMap<string, HostTensor>, step: number): void {
    for (const [name, v] of values) {
      const cur = this.get(name);
      if (v.data.length !== cur.data.length) throw new LetheError(`train step: "${name}" has ${v.data.length} values, expected ${cur.data.length}`);
      (cur.data as Float32Array).set(v.data as Float32Array);
    }
    this.step = step;
  }

  get names(): string[] {
    return [...this.paramNames, ...this.stateNames];
  }

  /** One optimisation step on a batch; returns the scalar outputs (loss, gradNorm, reports). */
  async run(batch: Feeds, lr: number): Promise<Record<string, number>> {
    const t = this.step + 1;
    const feeds: Feeds = { ...batch };
    for (const [name, v] of this.current) feeds[name] = v;
    feeds['optim.lr'] = { dtype: 'float32', shape: [], data: Float32Array.of(lr) };
    feeds['optim.step'] = { dtype: 'float32', shape: [], data: Float32Array.of(t) };
    const into: Record<string, HostTensor> = {};
    for (const [name, v] of this.spare) into[next(name)] = v;
    const out = await this.program.run(feeds, into);
    [this.current, this.spare] = [this.spare, this.current];
    this.step = t;
    const scalars: Record<string, number> = {};
    for (const [name, v] of Object.entries(out)) if (v.shape.length === 0) scalars[name] = Number(v.data[0]);
    return scalars;
  }

  dispose(): Promise<void> {
    return this.program.dispose();
  }
}
