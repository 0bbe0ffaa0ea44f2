// The train step: gradients, global-norm clipping and the optimiser update (optimizers.ts) are
// part of the same compiled program as the forward pass. Parameters and optimiser state are program
// inputs and the updated values are outputs written into the same host buffers, so one copy of
// each exists and nothing is copied between steps. With gradient accumulation the step is two
// programs: one adds a micro-batch's gradients into buffers, one applies them.

import { grad } from './autodiff.ts';
import { isHalf, widenInto, zerosHost, type HostTensor } from './dtype.ts';
import { LetheError, ShapeError } from './errors.ts';
import type { Tensor } from './graph.ts';
import * as o from './ops.ts';
import { compile, type CompileOptions, type Feeds, type Program } from './program.ts';
import { fmt } from './shape.ts';
import { Rng } from './random.ts';
import { addUpdate, checkOptimizer, maskName, NOISE_INPUT, next, optimiserInputs, slotNames, type OptimiserInputs, type OptimizerOptions } from './optimizers.ts';

export { ADAMW_DEFAULTS, SGD_DEFAULTS, SOPHIA_DEFAULTS, checkOptimizer, optimizerDefaults, type AdamWOptions, type OptimizerOptions, type SgdOptions, type SophiaOptions } from './optimizers.ts';

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
   * Per-parameter masks (same shape, 1 = trainable, 0 = frozen): only those weights change
   * (saliency-masked unlearning); where the mask is 0 the weight and its optimiser state stay
   * bit-identical, decay and momentum included. Parameters without a mask are fully trainable.
   */
  masks?: ReadonlySet<string>;
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

function checkParams(params: readonly Tensor[]): void {
  for (const p of params) {
    if (p.op !== 'input' || p.dtype !== 'float32') throw new ShapeError(`train step: parameter ${p} must be a float32 graph input`);
  }
}

/** The fused step graph: loss, gradients, clipping and update in one program. */
export function buildTrainStep(spec: TrainStepSpec, options?: CompileOptions): { program: Program; slots: string[] } {
  // SGD's coupled decay lives in `sgd`; the decoupled optimisers decay in `addUpdate`.
  const { grads, inputs: optInputs } = partsOf(spec);
  // Every reader of a parameter is an ancestor of the loss, a report or the gradient norm, so
  // writes ordered after those overwrite no value still to be read (in-place parameters).
  const upd = addUpdate(spec.params, grads, spec, optInputs, [spec.loss, ...Object.values(spec.report ?? {})]);
  const inputs = [...spec.params, ...spec.data, ...upd.inputs];
  return { program: compile(inputs, { loss: spec.loss, ...(spec.report ?? {}), ...upd.outputs }, { label: 'the training step', ...options }), slots: slotNames(spec.optimizer) };
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
  const accumulate = compile([...spec.params, ...spec.data, ...buffers], accOut, { label: 'the training step (gradients)', ...options });

  const gradScale = g.input('optim.gradScale', 'float32', []);
  const scaled = buffers.map((b) => o.mul(b, gradScale));
  const upd = addUpdate(spec.params, scaled, spec, optInputs);
  const apply = compile([...spec.params, ...buffers, gradScale, ...upd.inputs], upd.outputs, { label: 'the training step (update)', ...options });
  return { accumulate, apply };
}

/**
 * A compiled train step with its state. Each `run` feeds the current parameters and optimiser
 * state and writes the updated values into the same buffers. An optimiser slot's only reader is
 * its own update chain, whose last node writes the new value. A parameter is also read by the
 * forward and backward passes, in an order ONNX Runtime chooses; every write of a parameter
 * depends on the loss, the reports and the gradient norm (addUpdate's barrier), which every
 * such read precedes. The tests check the values step by step against PyTorch's.
 */
export class TrainStep {
  private current = new Map<string, HostTensor>();
  private readonly masks = new Map<string, HostTensor>();
  /** The caller's starting values (never written): what `reset` restores, so no step-0 copy is kept or written. */
  private initial: ReadonlyMap<string, HostTensor> = new Map();
  private fused: Program | null = null;
  private lossOnly: Program | null = null;
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
   * `initial` holds every parameter's starting value, float32 or 16-bit (bfloat16/float16,
   * widened exactly), never written, and, when the spec names masked parameters, `<name>.mask`
   * tensors. The step keeps its own float32 copy of each parameter, unless `buffers` gives one:
   * a float32 tensor equal to the initial value that the caller hands over (e.g. just widened
   * from 16 bits), which the step then writes in place. Throws LetheError for optimiser settings
   * the update cannot take (checkOptimizer) and for missing or mis-shaped values.
   */
  static create(spec: TrainStepSpec, initial: ReadonlyMap<string, HostTensor>, options?: CompileOptions, buffers?: ReadonlyMap<string, HostTensor>): TrainStep {
    checkOptimizer(spec.optimizer);
    const slots = slotNames(spec.optimizer);
    const paramNames = spec.params.map((p) => p.name!);
    const ts = new TrainStep(spec, options, paramNames, paramNames.flatMap((n) => slots.map((s) => `${n}.${s}`)));
    ts.initial = initial;
    for (const p of spec.params) {
      const v = initial.get(p.name!);
      if (!v) throw new LetheError(`train step: no initial value for parameter "${p.name}"`);
      const fits = (t: HostTensor, half: boolean) => (t.dtype === 'float32' || (half && isHalf(t.dtype))) && t.shape.length === p.rank && t.shape.every((d, i) => d === p.shape[i]);
      const bad = (what: string, t: HostTensor) => new LetheError(`train step: parameter "${p.name}" is float32 ${fmt(p.shape)}, ${what} is ${t.dtype} ${fmt(t.shape)}`);
      if (!fits(v, true)) throw bad('initial value', v);
      let buffer = buffers?.get(p.name!);
      if (buffer === v) throw new LetheError(`train step: parameter "${p.name}": the buffer handed over is the initial value itself, which is never written`);
      if (buffer && !fits(buffer, false)) throw bad('buffer', buffer);
      if (!buffer) {
        buffer = zerosHost('float32', [...v.shape]);
        widenInto(v, buffer.data as Float32Array);
      }
      ts.current.set(p.name!, buffer);
      for (const s of slots) ts.current.set(`${p.name}.${s}`, zerosHost(spec.optimizer.stateDtype ?? 'float32', [...v.shape]));
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
      if (v.dtype !== cur.dtype) throw new LetheError(`train step: "${name}" is ${v.dtype} in the values given, but this run keeps it as ${cur.dtype} (the optimiser state's dtype is part of the run)`);
      (cur.data as Float32Array).set(v.data as Float32Array);
    }
    this.step = step;
  }

  /** Back to the starting values with zero optimiser state, at step 0 (what a step-0 checkpoint held). */
  reset(): void {
    for (const name of this.paramNames) widenInto(this.initial.get(name)!, this.get(name).data as Float32Array);
    for (const name of this.stateNames) (this.get(name).data as Float32Array).fill(0);
    this.step = 0;
  }

  /** Parameters and optimiser state, by name. */
  get names(): string[] {
    return [...this.paramNames, ...this.stateNames];
  }

  private stateFeeds(lr: number, t: number): Feeds {
    const feeds: Feeds = { ...Object.fromEntries(this.current), ...Object.fromEntries(this.masks) };
    feeds['optim.lr'] = { dtype: 'float32', shape: [], data: Float32Array.of(lr) };
    feeds['optim.step'] = { dtype: 'float32', shape: [], data: Float32Array.of(t) };
    // A function of the step alone, so a resumed run rounds as the uninterrupted one did.
    if (this.spec.optimizer.stateDtype === 'bfloat16') feeds[NOISE_INPUT] = { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(new Rng(t).int(2 ** 30))) };
    return feeds;
  }

  /** Output buffers: each parameter's and slot's own (in place). */
  private outputBuffers(): Record<string, HostTensor> {
    const into: Record<string, HostTensor> = {};
    for (const name of this.names) into[next(name)] = this.current.get(name)!;
    return into;
  }

  private scalars(outputs: Record<string, HostTensor>): Record<string, number> {
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
      return this.scalars(out);
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
    const scalars = this.scalars(out);
    for (const [k, v] of Object.entries(sums)) scalars[k] = v / micro.length;
    return scalars;
  }

  /**
   * The loss and reports on the current parameters, without a gradient or an update (a forward
   * program of its own, compiled on first use): over several micro-batches, their mean.
   */
  async evaluate(batch: Feeds | Feeds[]): Promise<Record<string, number>> {
    const micro = Array.isArray(batch) ? batch : [batch];
    if (micro.length === 0) throw new LetheError('train step: no batch');
    this.lossOnly ??= compile([...this.spec.params, ...this.spec.data], { loss: this.spec.loss, ...(this.spec.report ?? {}) }, { label: 'the loss check', ...this.options });
    const params = Object.fromEntries(this.paramNames.map((n) => [n, this.get(n)]));
    const sums: Record<string, number> = {};
    for (const b of micro) {
      const r = this.scalars(await this.lossOnly.run({ ...b, ...params }));
      for (const [k, v] of Object.entries(r)) sums[k] = (sums[k] ?? 0) + v / micro.length;
    }
    return sums;
  }

  async dispose(): Promise<void> {
    await this.lossOnly?.dispose();
    await this.fused?.dispose();
    await this.accumulation?.accumulate.dispose();
    await this.accumulation?.apply.dispose();
  }
}
