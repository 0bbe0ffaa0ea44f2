// Optimiser update rules inside the step graph (AdamW, Sophia, SGD) with global-norm clipping:
// given parameters and gradients as graph tensors, they add the new parameters and state as
// graph outputs. The train step (train-step.ts) owns the buffers that carry them between steps.

import { LetheError } from './errors.ts';
import type { Graph, Tensor } from './graph.ts';
import * as o from './ops.ts';

interface Common {
  /** λ: coupled (added to the gradient) for SGD as torch.optim.SGD does it, decoupled (θ·(1 − lr·λ)) for AdamW and Sophia. */
  weightDecay?: number;
  /** Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_); null for none. */
  maxGradNorm?: number | null;
  /** Which parameters decay (default all). */
  decays?: (name: string) => boolean;
  /**
   * How the state slots are stored between steps: float32 (default), or bfloat16, half the bytes,
   * rounded stochastically (ops.ts, roundBf16) after each update, which is computed in float32.
   * The parameters stay float32. Rounding to nearest would stall Adam's second moment (ops.ts).
   */
  stateDtype?: 'float32' | 'bfloat16';
}

/**
 * torch.optim.SGD (dampening 0): d = g + λ·θ; with momentum μ, b ← μ·b + d (b starts at the
 * first d) and d = b, or d + μ·b with Nesterov; θ ← θ − lr·d. Defaults as torch's: μ = 0,
 * λ = 0, no Nesterov (which needs μ > 0, as torch requires).
 */
export interface SgdOptions extends Common {
  kind: 'sgd';
  momentum?: number;
  nesterov?: boolean;
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
/** torch.optim.SGD's defaults: no momentum, no weight decay. */
export const SGD_DEFAULTS = { momentum: 0, nesterov: false, weightDecay: 0 };

/** The defaults of an optimiser kind (weight decay: AdamW and Sophia 0.01, SGD 0, as their reference implementations). */
export function optimizerDefaults(kind: OptimizerOptions['kind']): { weightDecay: number } {
  return kind === 'sgd' ? SGD_DEFAULTS : kind === 'sophia' ? SOPHIA_DEFAULTS : ADAMW_DEFAULTS;
}

/** Throws LetheError for settings the update rules cannot take (e.g. Nesterov without momentum). */
export function checkOptimizer(opt: OptimizerOptions): void {
  const bad = (what: string) => {
    throw new LetheError(`optimizer ${opt.kind}: ${what}`);
  };
  if (opt.stateDtype !== undefined && opt.stateDtype !== 'float32' && opt.stateDtype !== 'bfloat16') bad(`state dtype must be float32 or bfloat16, got ${String(opt.stateDtype)}`);
  if (opt.weightDecay !== undefined && !(opt.weightDecay >= 0 && Number.isFinite(opt.weightDecay))) bad(`weight decay must be a finite number ≥ 0, got ${opt.weightDecay}`);
  if (opt.kind === 'sgd') {
    const mu = opt.momentum ?? SGD_DEFAULTS.momentum;
    if (!(mu >= 0 && Number.isFinite(mu))) bad(`momentum must be a finite number ≥ 0, got ${mu}`);
    if (opt.nesterov && !(mu > 0)) bad('Nesterov momentum needs a momentum > 0 (as torch.optim.SGD requires)');
  }
}

/** State slots per parameter, by optimiser. */
export function slotNames(opt: OptimizerOptions): string[] {
  if (opt.kind === 'adamw') return ['adam_m', 'adam_v'];
  if (opt.kind === 'sophia') return ['sophia_m', 'sophia_h'];
  return (opt.momentum ?? SGD_DEFAULTS.momentum) > 0 ? ['momentum'] : [];
}

export const next = (name: string): string => `${name}.next`;
/** The int64 scalar input that seeds a step's stochastic rounding of bfloat16 state. */
export const NOISE_INPUT = 'optim.noise';
export const maskName = (name: string): string => `${name}.mask`;

export interface Update {
  inputs: Tensor[]; // lr, step, state, masks
  outputs: Record<string, Tensor>; // gradNorm, next params and state
}

/** The optimiser's graph inputs: learning rate, step, masks and state slots per parameter. */
export interface OptimiserInputs {
  lr: Tensor;
  t: Tensor;
  /** A fresh int64 draw per step for the stochastic rounding of bfloat16 state (null for float32 state). */
  noise: Tensor | null;
  masks: (Tensor | null)[];
  state: Tensor[][];
  all: Tensor[];
}

export function optimiserInputs(g: Graph, params: readonly Tensor[], spec: { optimizer: OptimizerOptions; masks?: ReadonlySet<string> }): OptimiserInputs {
  const lr = g.input('optim.lr', 'float32', []);
  const t = g.input('optim.step', 'float32', []);
  const masks = params.map((p) => (spec.masks?.has(p.name!) ? g.input(maskName(p.name!), 'float32', p.shape) : null));
  const slots = slotNames(spec.optimizer);
  const stateDtype = spec.optimizer.stateDtype ?? 'float32';
  const state = params.map((p) => slots.map((s) => g.input(`${p.name}.${s}`, stateDtype, p.shape)));
  const noise = stateDtype === 'bfloat16' && slots.length > 0 ? g.input(NOISE_INPUT, 'int64', []) : null;
  return { lr, t, noise, masks, state, all: [lr, t, ...(noise ? [noise] : []), ...masks.filter((m) => m !== null), ...state.flat()] };
}

/**
 * Clipping and the optimiser update for `grads` of `params`, added to the graph. A masked
 * parameter's whole update is zero where its mask is 0: the gradient is masked before
 * clipping and the moments, and the decay (coupled or decoupled) is masked too, so those
 * weights and their optimiser state stay bit-identical.
 *
 * Every new parameter value is computed only once the gradient norm and each `barrier` tensor
 * exist (all of them read the learning rate through `after`): the step writes parameters into
 * their own input buffers, so no other reader of a parameter may run after its write.
 */
export function addUpdate(params: readonly Tensor[], grads: Tensor[], spec: { optimizer: OptimizerOptions }, inputs: OptimiserInputs, barrier: readonly Tensor[] = []): Update {
  const opt = spec.optimizer;
  checkOptimizer(opt);
  const { t } = inputs;
  // Where, not a product with the mask: an exact +0 outside the scope whatever the gradient
  // (NaN·0 is NaN, −0 − (−0) is +0), so every update term there is +0 and θ − (+0) is θ, bits included.
  const masked = grads.map((gr, i) => {
    const mask = inputs.masks[i];
    const keep = mask ? o.greater(mask, 0) : null;
    return { gr: keep ? o.where(keep, gr, 0) : gr, keep };
  });
  // Global gradient norm, and clipping as torch.nn.utils.clip_grad_norm_ does it. The clip
  // factor is a scalar folded into each optimiser's own scalars, not a pass over the gradients.
  // Each Σg² is one reduction: squares kept from here to the moment updates would hold a second
  // copy of every gradient while the norm waits for the last one (1.4 GB at 360M parameters).
  const gradNorm = o.sqrt(masked.map(({ gr }) => o.sumSquares(gr)).reduce((a, b) => o.add(a, b)));
  const maxNorm = opt.maxGradNorm ?? null;
  const scale = maxNorm === null ? null : o.minimum(o.div(maxNorm, o.add(gradNorm, 1e-6)), 1);
  // Each optimiser's last node (the one writing θ) reads the learning rate. One gate on the sum
  // of the barrier's values (only its existence matters; ONNX Runtime's reshape fusion fails on
  // a chain of them).
  const lr = o.after(inputs.lr, [gradNorm, ...barrier].map((x) => o.sum(o.cast(x, 'float32'))).reduce((a, b) => o.add(a, b)));
  const outputs: Record<string, Tensor> = { gradNorm };
  // bfloat16 slots are widened to float32 for the update and the new values rounded back.
  const { noise } = inputs;
  const store = (x: Tensor) => (noise ? o.roundBf16(x, noise) : x);
  params.forEach((p, i) => {
    const state = inputs.state[i].map((s) => o.cast(s, 'float32'));
    const { gr, keep } = masked[i];
    const wd = (opt.decays?.(p.name!) ?? true) ? (opt.weightDecay ?? optimizerDefaults(opt.kind).weightDecay) : 0;
    // The weights that decay: all, or the trainable ones (exact +0 elsewhere) when masked.
    const decaying = keep && wd !== 0 ? o.where(keep, p, 0) : p;
    let updated: { param: Tensor; state: Tensor[] };
    if (opt.kind === 'sgd') {
      // Coupled decay λ·θ, added to the (clipped) gradient in `sgd`.
      updated = sgd(opt, p, scale ? o.mul(gr, scale) : gr, wd === 0 ? null : o.mul(decaying, wd), state, lr);
    } else {
      // Decoupled decay θ·(1 − lr·λ), or θ − (lr·λ)·θ_trainable when masked.
      const lrWd = o.mul(lr, wd);
      const decayed = wd === 0 ? p : keep ? o.sub(p, o.mul(decaying, lrWd)) : o.mul(p, o.sub(1, lrWd));
      if (opt.kind === 'adamw') updated = adamw(opt, decayed, gr, scale, state, lr, t);
      else updated = sophia(opt, decayed, gr, scale, state, lr);
    }
    outputs[next(p.name!)] = updated.param;
    inputs.state[i].forEach((s, k) => (outputs[next(s.name!)] = store(updated.state[k])));
  });
  return { inputs: inputs.all, outputs };
}

/**
 * torch.optim.AdamW, with the clip factor s applied to g:
 *   m ← β1·m + (1−β1)·s·g,  v ← β2·v + (1−β2)·s²·g²,  θ ← θ·(1 − lr·λ) − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
 * rearranged so that every per-element pass is needed: the last term is
 * (lr·√(1−β2ᵗ)/(1−β1ᵗ)) · m / (√v + ε·√(1−β2ᵗ)), with the scalars computed once.
 */
function adamw(opt: AdamWOptions, decayed: Tensor, gr: Tensor, scale: Tensor | null, [m, v]: Tensor[], lr: Tensor, t: Tensor) {
  const [b1, b2] = opt.betas ?? ADAMW_DEFAULTS.betas;
  const eps = opt.eps ?? ADAMW_DEFAULTS.eps;
  const s1 = scale ? o.mul(scale, 1 - b1) : 1 - b1;
  const s2 = scale ? o.mul(o.square(scale), 1 - b2) : 1 - b2;
  const m2 = o.add(o.mul(m, b1), o.mul(gr, s1));
  const v2 = o.add(o.mul(v, b2), o.mul(o.square(gr), s2));
  // Bias corrections 1 − βᵗ as scalars, from t: βᵗ = exp(t·ln β).
  const bc1 = o.sub(1, o.exp(o.mul(t, Math.log(b1))));
  const sqrtBc2 = o.sqrt(o.sub(1, o.exp(o.mul(t, Math.log(b2)))));
  const stepSize = o.div(o.mul(lr, sqrtBc2), bc1);
  const update = o.div(m2, o.add(o.sqrt(v2), o.mul(sqrtBc2, eps)));
  return { param: o.sub(decayed, o.mul(update, stepSize)), state: [m2, v2] };
}

function sophia(opt: SophiaOptions, decayed: Tensor, gr: Tensor, scale: Tensor | null, [m, h]: Tensor[], lr: Tensor) {
  const [b1, b2] = opt.betas ?? SOPHIA_DEFAULTS.betas;
  const rho = opt.rho ?? SOPHIA_DEFAULTS.rho;
  const s1 = scale ? o.mul(scale, 1 - b1) : 1 - b1;
  const s2 = scale ? o.mul(o.square(scale), 1 - b2) : 1 - b2;
  const m2 = o.add(o.mul(m, b1), o.mul(gr, s1));
  const h2 = o.add(o.mul(h, b2), o.mul(o.square(gr), s2));
  const ratio = o.minimum(o.div(o.abs(m2), o.add(o.mul(h2, rho * opt.batchSize), 1e-15)), 1);
  return { param: o.sub(decayed, o.mul(o.mul(o.sign(m2), ratio), lr)), state: [m2, h2] };
}

/** torch.optim.SGD's step (dampening 0); `decay` is λ·θ (masked), the coupled weight decay. */
function sgd(opt: SgdOptions, p: Tensor, gr: Tensor, decay: Tensor | null, state: Tensor[], lr: Tensor) {
  const d = decay ? o.add(gr, decay) : gr;
  if (state.length === 0) return { param: o.sub(p, o.mul(d, lr)), state: [] };
  const mu = opt.momentum!;
  // The buffer starts at 0, so its first value μ·0 + d is torch's clone of d.
  const buf = o.add(o.mul(state[0], mu), d);
  const step = opt.nesterov ? o.add(d, o.mul(buf, mu)) : buf;
  return { param: o.sub(p, o.mul(step, lr)), state: [buf] };
}
