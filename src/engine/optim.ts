// Optimisers inside the step graph: gradients, global-norm clipping and the update are part of
// the same compiled program as the forward pass. Parameters and optimiser state are program
// inputs and the updated values are outputs; `TrainStep` keeps them in two sets of host buffers
// and swaps them each step, so nothing is copied between steps. With gradient accumulation the
// step is two programs: one adds a micro-batch's gradients into buffers, one applies them.

import { grad } from './autodiff.ts';
import { zerosHost, type HostTensor } from './dtype.ts';
import { LetheError, ShapeError } from './errors.ts';
import type { Graph, Tensor } from './graph.ts';
import * as o from './ops.ts';
import { compile, type CompileOptions, type Feeds, type Program } from './program.ts';
import { fmt } from './shape.ts';

interface Common {
  weightDecay?: number;
  /** Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_); null for none. */
  maxGradNorm?: number | null;
  /** Which parameters decay (default all). */
  decays?: (name: string) => boolean;
}

export interface SgdOptions extends Common {
  kind: 'sgd';
  /** Heavy-ball momentum as in torch.optim.SGD (buffer starts at the first gradient). */
  momentum?: number;
}

export interface AdamWOptions extends Common {
  kind: 'adamw';
  betas?: [number, number];
  eps?: number;
}

/**
 * Sophia as SOUL uses it (Liu et al. 2023; Jia et al. 2024), with the Hessian diagonal estimated by
 * an EMA of g² (Sophia-G style, every step): m ← β1·m + (1−β1)·g, h ← β2·h + (1−β2)·g²,
 * θ ← θ·(1 − lr·λ) − lr · sign(m) · min(|m| / (ρ·bs·h + 1e-15), 1).
 */
export interface SophiaOptions extends Common {
  kind: 'sophia';
  betas?: [number, number];
  rho?: number;
  /** bs in the update: the number of samples per step. */
  batchSize: number;
}

export type OptimizerOptions = SgdOptions | AdamWOptions | SophiaOptions;

export const ADAMW_DEFAULTS = { betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.01 };
export const SOPHIA_DEFAULTS = { betas: [0.9, 0.95] as [number, number], rho: 0.04, weightDecay: 0.01 };

/** State slots per parameter, by optimiser. */
function slotNames(opt: OptimizerOptions): string[] {
  if (opt.kind === 'adamw') return ['adam_m', 'adam_v'];
  if (opt.kind === 'sophia') return ['sophia_m', 'sophia_h'];
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
  /**
   * Per-parameter masks (same shape, 1 = trainable): only those weights change (saliency-masked
   * unlearning). Parameters without a mask are fully trainable.
   */
  masks?: ReadonlySet<string>;
}

const next = (name: string): string => `${name}.next`;
const maskName = (name: string): string => `${name}.mask`;

interface Update {
  inputs: Tensor[]; // lr, step, state, masks
  outputs: Record<string, Tensor>; // gradNorm, next params and state
}

/** The optimiser's graph inputs: learning rate, step, masks and state slots per parameter. */
interface OptimiserInputs {
  lr: Tensor;
  t: Tensor;
  masks: (Tensor | null)[];
  state: Tensor[][];
  all: Tensor[];
}

function optimiserInputs(g: Graph, params: readonly Tensor[], spec: Pick<TrainStepSpec, 'optimizer' | 'masks'>): OptimiserInputs {
  const lr = g.input('optim.lr', 'float32', []);
  const t = g.input('optim.step', 'float32', []);
  const masks = params.map((p) => (spec.masks?.has(p.name!) ? g.input(maskName(p.name!), 'float32', p.shape) : null));
  const slots = slotNames(spec.optimizer);
  const state = params.map((p) => slots.map((s) => g.input(`${p.name}.${s}`, 'float32', p.shape)));
  return { lr, t, masks, state, all: [lr, t, ...masks.filter((m) => m !== null), ...state.flat()] };
}

/**
 * What the fused program and the accumulation programs share, made once per spec: the
 * gradients and the optimiser's inputs (a graph holds one input of a name, and a run may use
 * both programs: accumulation steps, then a short last step of one micro-batch).
 */
const sharedParts = new WeakMap<TrainStepSpec, { grads: Tensor[]; inputs: OptimiserInputs }>();
function partsOf(spec: TrainStepSpec): { grads: Tensor[]; inputs: OptimiserInputs } {
  let parts = sharedParts.get(spec);
  if (!parts) {
    checkParams(spec.params);
    parts = { grads: grad(spec.loss, spec.params), inputs: optimiserInputs(spec.loss.graph, spec.params, spec) };
    sharedParts.set(spec, parts);
  }
  return parts;
}

/** Clipping and the optimiser update for `grads` of `params`, added to the graph. */
function addUpdate(params: readonly Tensor[], grads: Tensor[], spec: Pick<TrainStepSpec, 'optimizer'>, inputs: OptimiserInputs): Update {
  const opt = spec.optimizer;
  const { lr, t } = inputs;
  const masked = grads.map((gr, i) => {
    const mask = inputs.masks[i];
    return { gr: mask ? o.mul(gr, mask) : gr, mask };
  });
  // Global gradient norm, and clipping as torch.nn.utils.clip_grad_norm_ does it. The clip
  // factor is a scalar folded into each optimiser's own scalars, not a pass over the gradients.
  const squares = masked.map(({ gr }) => o.square(gr));
  const gradNorm = o.sqrt(squares.map((sq) => o.sum(sq)).reduce((a, b) => o.add(a, b)));
  const maxNorm = opt.maxGradNorm ?? null;
  const scale = maxNorm === null ? null : o.minimum(o.div(maxNorm, o.add(gradNorm, 1e-6)), 1);
  const outputs: Record<string, Tensor> = { gradNorm };
  params.forEach((p, i) => {
    const state = inputs.state[i];
    const { gr, mask } = masked[i];
    const wd = (opt.decays?.(p.name!) ?? true) ? (opt.weightDecay ?? (opt.kind === 'sgd' ? 0 : ADAMW_DEFAULTS.weightDecay)) : 0;
    // Decoupled decay θ·(1 − lr·λ), restricted to the trainable weights when masked.
    const decayed = wd === 0 ? p : mask ? o.sub(p, o.mul(o.mul(p, mask), o.mul(lr, wd))) : o.mul(p, o.sub(1, o.mul(lr, wd)));
    let updated: { param: Tensor; state: Tensor[] };
    if (opt.kind === 'adamw') updated = adamw(opt, decayed, gr, squares[i], scale, state, lr, t);
    else if (opt.kind === 'sophia') updated = sophia(opt, decayed, gr, squares[i], scale, state, lr);
    else updated = sgd(opt, p, scale ? o.mul(gr, scale) : gr, state, lr);
    outputs[next(p.name!)] = updated.param;
    state.forEach((s, k) => (outputs[next(s.name!)] = updated.state[k]));
  });
  return { inputs: inputs.all, outputs };
}

/**
 * torch.optim.AdamW, with the clip factor s applied to g:
 *   m ← β1·m + (1−β1)·s·g,  v ← β2·v + (1−β2)·s²·g²,  θ ← θ·(1 − lr·λ) − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
 * rearranged so that every per-element pass is needed: the last term is
 * (lr·√(1−β2ᵗ)/(1−β1ᵗ)) · m / (√v + ε·√(1−β2ᵗ)), with the scalars computed once.
 */
function adamw(opt: AdamWOptions, decayed: Tensor, gr: Tensor, grSquared: Tensor, scale: Tensor | null, [m, v]: Tensor[], lr: Tensor, t: Tensor) {
  const [b1, b2] = opt.betas ?? ADAMW_DEFAULTS.betas;
  const eps = opt.eps ?? ADAMW_DEFAULTS.eps;
  const s1 = scale ? o.mul(scale, 1 - b1) : 1 - b1;
  const s2 = scale ? o.mul(o.square(scale), 1 - b2) : 1 - b2;
  const m2 = o.add(o.mul(m, b1), o.mul(gr, s1));
  const v2 = o.add(o.mul(v, b2), o.mul(grSquared, s2));
  // Bias corrections 1 − βᵗ as scalars, from t: βᵗ = exp(t·ln β).
  const bc1 = o.sub(1, o.exp(o.mul(t, Math.log(b1))));
  const sqrtBc2 = o.sqrt(o.sub(1, o.exp(o.mul(t, Math.log(b2)))));
  const stepSize = o.div(o.mul(lr, sqrtBc2), bc1);
  const update = o.div(m2, o.add(o.sqrt(v2), o.mul(sqrtBc2, eps)));
  return { param: o.sub(decayed, o.mul(update, stepSize)), state: [m2, v2] };
}

function sophia(opt: SophiaOptions, decayed: Tensor, gr: Tensor, grSquared: Tensor, scale: Tensor | null, [m, h]: Tensor[], lr: Tensor) {
  const [b1, b2] = opt.betas ?? SOPHIA_DEFAULTS.betas;
  const rho = opt.rho ?? SOPHIA_DEFAULTS.rho;
  const s1 = scale ? o.mul(scale, 1 - b1) : 1 - b1;
  const s2 = scale ? o.mul(o.square(scale), 1 - b2) : 1 - b2;
  const m2 = o.add(o.mul(m, b1), o.mul(gr, s1));
  const h2 = o.add(o.mul(h, b2), o.mul(grSquared, s2));
  const ratio = o.minimum(o.div(o.abs(m2), o.add(o.mul(h2, rho * opt.batchSize), 1e-15)), 1);
  return { param: o.sub(decayed, o.mul(o.mul(o.sign(m2), ratio), lr)), state: [m2, h2] };
}

function sgd(opt: SgdOptions, p: Tensor, gr: Tensor, state: Tensor[], lr: Tensor) {
  const wd = opt.weightDecay ?? 0;
  // torch.optim.SGD's coupled decay: d = g + λ·θ.
  const d = wd === 0 ? gr : o.add(gr, o.mul(p, wd));
  if (state.length === 0) return { param: o.sub(p, o.mul(d, lr)), state: [] };
  const buf = o.add(o.mul(state[0], opt.momentum!), d);
  return { param: o.sub(p, o.mul(buf, lr)), state: [buf] };
}

function checkParams(params: readonly Tensor[]): void {
  for (const p of params) {
    if (p.op !== 'input' || p.dtype !== 'float32') throw new ShapeError(`train step: parameter ${p} must be a float32 graph input`);
  }
}

/** The fused step graph: loss, gradients, clipping and update in one program. */
export function buildTrainStep(spec: TrainStepSpec, options?: CompileOptions): { program: Program; slots: string[] } {
  // SGD's coupled decay lives in `sgd`; the decoupled optimisers decay in `addUpdate`.
  const { grads, inputs: optInputs } = partsOf(spec);
  const upd = addUpdate(spec.params, grads, spec, optInputs);
  const inputs = [...spec.params, ...spec.data, ...upd.inputs];
  return { program: compile(inputs, { loss: spec.loss, ...(spec.report ?? {}), ...upd.outputs }, options), slots: slotNames(spec.optimizer) };
}

/**
 * Gradient accumulation as two programs: `accumulate` adds one micro-batch's gradients into
 * `<param>.grad` buffers; `apply` updates from the buffers times `optim.gradScale` (1/k).
 */
function buildAccumulation(spec: TrainStepSpec, options?: CompileOptions): { accumulate: Program; apply: Program } {
  const g = spec.loss.graph;
  const { grads, inputs: optInputs } = partsOf(spec);
  const buffers = spec.params.map((p) => g.input(`${p.name}.grad`, 'float32', p.shape));
  const accOut: Record<string, Tensor> = { loss: spec.loss, ...(spec.report ?? {}) };
  buffers.forEach((b, i) => (accOut[next(b.name!)] = o.add(b, grads[i])));
  const accumulate = compile([...spec.params, ...spec.data, ...buffers], accOut, options);

  const gradScale = g.input('optim.gradScale', 'float32', []);
  const scaled = buffers.map((b) => o.mul(b, gradScale));
  const upd = addUpdate(spec.params, scaled, spec, optInputs);
  const apply = compile([...spec.params, ...buffers, gradScale, ...upd.inputs], upd.outputs, options);
  return { accumulate, apply };
}

/**
 * A compiled train step with its state. Each `run` feeds the current parameters and optimiser
 * state, writes the updated parameters into spare buffers and swaps them. Optimiser state is
 * updated in place: a slot's only reader is its own update chain, whose last node writes the new
 * value, so every old value is read before the buffer is written (the tests check the values
 * step by step). Parameters are read by many nodes of the forward and backward passes, in an
 * order ONNX Runtime chooses, so they are double-buffered.
 */
export class TrainStep {
  private current = new Map<string, HostTensor>();
  private spare = new Map<string, HostTensor>();
  private readonly masks = new Map<string, HostTensor>();
  private fused: Program | null = null;
  private accumulation: { accumulate: Program; apply: Program } | null = null;
  private gradBuffers: Map<string, HostTensor> | null = null;
  /** Steps taken so far. */
  step = 0;

  private constructor(
    private readonly spec: TrainStepSpec,
    private readonly options: CompileOptions | undefined,
    readonly paramNames: string[],
    readonly stateNames: string[],
  ) {}

  /**
   * `initial` holds every parameter's starting value (copied: the caller's arrays are never
   * written) and, when the spec names masked parameters, `<name>.mask` tensors.
   */
  static create(spec: TrainStepSpec, initial: ReadonlyMap<string, HostTensor>, options?: CompileOptions): TrainStep {
    const slots = slotNames(spec.optimizer);
    const paramNames = spec.params.map((p) => p.name!);
    const ts = new TrainStep(spec, options, paramNames, paramNames.flatMap((n) => slots.map((s) => `${n}.${s}`)));
    for (const p of spec.params) {
      const v = initial.get(p.name!);
      if (!v) throw new LetheError(`train step: no initial value for parameter "${p.name}"`);
      if (v.dtype !== 'float32' || v.shape.length !== p.rank || v.shape.some((d, i) => d !== p.shape[i])) {
        throw new LetheError(`train step: parameter "${p.name}" is ${fmt(p.shape)}, initial value is ${v.dtype} ${fmt(v.shape)}`);
      }
      ts.current.set(p.name!, { dtype: 'float32', shape: [...v.shape], data: Float32Array.from(v.data as Float32Array) });
      ts.spare.set(p.name!, zerosHost('float32', [...v.shape]));
      for (const s of slots) ts.current.set(`${p.name}.${s}`, zerosHost('float32', [...v.shape]));
      if (spec.masks?.has(p.name!)) {
        const m = initial.get(maskName(p.name!));
        if (!m || m.data.length !== v.data.length) throw new LetheError(`train step: parameter "${p.name}" is masked but has no mask of its size`);
        ts.masks.set(maskName(p.name!), m);
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

  /** Parameters and optimiser state, by name. */
  get names(): string[] {
    return [...this.paramNames, ...this.stateNames];
  }

  private stateFeeds(lr: number, t: number): Feeds {
    const feeds: Feeds = { ...Object.fromEntries(this.current), ...Object.fromEntries(this.masks) };
    feeds['optim.lr'] = { dtype: 'float32', shape: [], data: Float32Array.of(lr) };
    feeds['optim.step'] = { dtype: 'float32', shape: [], data: Float32Array.of(t) };
    return feeds;
  }

  /** Output buffers: spare ones for the parameters, the state's own for the state. */
  private outputBuffers(): Record<string, HostTensor> {
    const into: Record<string, HostTensor> = {};
    for (const name of this.paramNames) into[next(name)] = this.spare.get(name)!;
    for (const name of this.stateNames) into[next(name)] = this.current.get(name)!;
    return into;
  }

  private swap(outputs: Record<string, HostTensor>): Record<string, number> {
    for (const name of this.paramNames) {
      const cur = this.current.get(name)!;
      this.current.set(name, this.spare.get(name)!);
      this.spare.set(name, cur);
    }
    const scalars: Record<string, number> = {};
    for (const [name, v] of Object.entries(outputs)) if (v.shape.length === 0) scalars[name] = Number(v.data[0]);
    return scalars;
  }

  /**
   * One optimisation step. Given several micro-batches, their gradients are accumulated and
   * averaged (each micro-batch loss is already a mean, so this is the mean over all of them when
   * they hold equal numbers of target tokens). Returns the scalar outputs (loss, gradNorm, reports).
   */
  async run(batch: Feeds | Feeds[], lr: number): Promise<Record<string, number>> {
    const micro = Array.isArray(batch) ? batch : [batch];
    if (micro.length === 0) throw new LetheError('train step: no batch');
    const t = this.step + 1;
    const into = this.outputBuffers();
    if (micro.length === 1) {
      this.fused ??= buildTrainStep(this.spec, this.options).program;
      const out = await this.fused.run({ ...micro[0], ...this.stateFeeds(lr, t) }, into);
      this.step = t;
      return this.swap(out);
    }
    this.accumulation ??= buildAccumulation(this.spec, this.options);
    // Gradient sums, added in place (a buffer's only reader is the Add that writes it).
    this.gradBuffers ??= new Map(this.paramNames.map((n) => [n, zerosHost('float32', this.get(n).shape)]));
    for (const a of this.gradBuffers.values()) (a.data as Float32Array).fill(0);
    const sums: Record<string, number> = {};
    for (const b of micro) {
      const feeds: Feeds = { ...b, ...Object.fromEntries(this.paramNames.map((n) => [n, this.get(n)])) };
      const out: Record<string, HostTensor> = {};
      for (const [n, buf] of this.gradBuffers) {
        feeds[`${n}.grad`] = buf;
        out[next(`${n}.grad`)] = buf;
      }
      const r = await this.accumulation.accumulate.run(feeds, out);
      for (const [k, v] of Object.entries(r)) if (v.shape.length === 0) sums[k] = (sums[k] ?? 0) + Number(v.data[0]);
    }
    const feeds: Feeds = { ...this.stateFeeds(lr, t), 'optim.gradScale': { dtype: 'float32', shape: [], data: Float32Array.of(1 / micro.length) } };
    for (const [n, buf] of this.gradBuffers) feeds[`${n}.grad`] = buf;
    const out = await this.accumulation.apply.run(feeds, into);
    this.step = t;
    const scalars = this.swap(out);
    for (const [k, v] of Object.entries(sums)) scalars[k] = v / micro.length;
    return scalars;
  }

  async dispose(): Promise<void> {
    await this.fused?.dispose();
    await this.accumulation?.accumulate.dispose();
    await this.accumulation?.apply.dispose();
  }
}
