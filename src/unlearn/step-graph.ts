// The unlearning step graph: the method's objective over the model's forward passes (forget,
// retain, refusals), the frozen-reference quantities as inputs, the adversarial inner loop on
// the forget pass, and SAM's second pass at the perturbed weights. The train step adds the
// gradients and the optimiser update to it.

import { grad } from '../engine/autodiff.ts';
import { Graph, type Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { Rng } from '../engine/random.ts';
import type { Model } from '../models/model.ts';
import { adversarialDelta } from './adversarial.ts';
import { scoredInputs } from './batch-schedule.ts';
import { objective, type MethodInputs } from './method.ts';
import type { Scored } from './objective.ts';
import type { RunPlan } from './run-plan.ts';

/** Names of the reference inputs the step reads, fed per micro-batch. */
export const REF_INPUTS = {
  forgetSeqLogp: 'ref.forgetSeqLogp',
  idkSeqLogp: 'ref.idkSeqLogp',
  forgetTokenLogprobs: 'ref.forgetTokenLogprobs',
  retainTokenLogprobs: 'ref.retainTokenLogprobs',
  retainHidden: 'ref.retainHidden',
} as const;

export interface StepGraph {
  loss: Tensor;
  /** Per-term losses reported each step. */
  report: Record<string, Tensor>;
  /** The parameter inputs of the graph, by name. */
  params: ReadonlyMap<string, Tensor>;
  /** LoRA dropout's seed input, shared by every pass, when the model has dropout. */
  dropoutSeed: Tensor | null | undefined;
  /** Every graph input. */
  inputs: Tensor[];
}

type Params = ReadonlyMap<string, Tensor>;

/** The forward passes of one step over the given parameter tensors (new inputs the first time). */
function passes(g: Graph, model: Model, plan: RunPlan, gradientCheckpointing: boolean) {
  const f = scoredInputs(g, 'forget');
  const r = plan.needsRetain ? scoredInputs(g, 'retain') : null;
  const i = plan.needs.has('idk') ? scoredInputs(g, 'idk', 'Bforget') : null;
  const adv = plan.adversarial;
  let dropoutSeed: Tensor | null | undefined;
  const forward = (ids: Tensor, given?: Params, perturb?: { layer: number; delta: Tensor }) => {
    const out = model.forward(g, ids, { training: true, params: given, dropoutSeed, perturb, gradientCheckpointing });
    dropoutSeed ??= out.dropoutSeed;
    return out;
  };
  const forgetPass = (given?: Params) => {
    const clean = forward(f.ids, given);
    if (!adv) return clean;
    const delta = adversarialDelta((d) => forward(f.ids, clean.params, { layer: adv.layer, delta: d }).logits, clean.hidden[adv.layer], f.labels, f.mask, adv);
    return forward(f.ids, clean.params, { layer: adv.layer, delta });
  };
  const hiddenOf = (h: Tensor[]) => (plan.hiddenLayer !== undefined ? h[plan.hiddenLayer] : undefined);
  return (given?: Params) => {
    const fwd = forgetPass(given);
    const inputs: MethodInputs = { forget: { logits: fwd.logits, labels: f.labels, mask: f.mask, hidden: hiddenOf(fwd.hidden) } };
    if (r) {
      const rf = forward(r.ids, fwd.params);
      inputs.retain = { logits: rf.logits, labels: r.labels, mask: r.mask, hidden: hiddenOf(rf.hidden) };
    }
    if (i) inputs.idk = { logits: forward(i.ids, fwd.params).logits, labels: i.labels, mask: i.mask } satisfies Scored;
    return { inputs, params: fwd.params, dropoutSeed: fwd.dropoutSeed };
  };
}

/** The reference quantities as graph inputs, and a function adding them to a pass's method inputs. */
function referenceInputs(g: Graph, model: Model, plan: RunPlan, seed: number) {
  const { needs } = plan;
  const V = model.config.vocabSize;
  const input = (name: string, shape: (string | number)[]) => g.input(name, 'float32', shape);
  const refs: Partial<MethodInputs> = {
    refForgetSeqLogp: needs.has('refForgetSeqLogp') ? input(REF_INPUTS.forgetSeqLogp, ['Bforget']) : undefined,
    refIdkSeqLogp: needs.has('refIdkSeqLogp') ? input(REF_INPUTS.idkSeqLogp, ['Bforget']) : undefined,
    refForgetTokenLogprobs: needs.has('refForgetTokenLogprobs') ? input(REF_INPUTS.forgetTokenLogprobs, ['Bforget', 'Tforget', V]) : undefined,
    refRetainTokenLogprobs: plan.wantKl ? input(REF_INPUTS.retainTokenLogprobs, ['Bretain', 'Tretain', V]) : undefined,
    refRetainHidden: needs.has('refRetainHidden') ? input(REF_INPUTS.retainHidden, ['Bretain', 'Tretain', model.config.hiddenSize]) : undefined,
  };
  if (needs.has('direction')) {
    // u ~ U[0,1)^d, normalised, fixed for the run (RMU).
    const rng = new Rng(seed + 2);
    const u = Float32Array.from({ length: model.config.hiddenSize }, () => rng.next());
    const norm = Math.hypot(...u);
    refs.direction = g.constant({ dtype: 'float32', shape: [u.length], data: u.map((x) => x / norm) });
  }
  const defined = Object.fromEntries(Object.entries(refs).filter(([, t]) => t !== undefined));
  return (inputs: MethodInputs): MethodInputs => Object.assign(inputs, defined);
}

/** SAM: ε = ρ·g/‖g‖ at θ; the parameters θ + ε (ε carries no gradient). */
function samShift(loss: Tensor, params: Params, trainNames: readonly string[], rho: number): Map<string, Tensor> {
  const ps = trainNames.map((n) => params.get(n)!);
  const gs = grad(loss, ps);
  const gn = o.sqrt(gs.map((x) => o.sum(o.square(x))).reduce((a, b) => o.add(a, b)));
  const shifted = new Map(params);
  ps.forEach((p, i) => shifted.set(trainNames[i], o.add(p, o.stopGradient(o.mul(gs[i], o.div(rho, o.add(gn, 1e-12)))))));
  return shifted;
}

/** The step graph of an unlearning run; `trainNames` are the parameters SAM perturbs. */
export function buildStepGraph(model: Model, plan: RunPlan, trainNames: readonly string[], opts: { seed: number; sam?: { rho: number }; gradientCheckpointing?: boolean }): StepGraph {
  const g = new Graph();
  const build = passes(g, model, plan, opts.gradientCheckpointing === true);
  const first = build();
  const withRefs = referenceInputs(g, model, plan, opts.seed);
  let obj = objective(plan.method, withRefs(first.inputs), plan.options as never);
  const report: Record<string, Tensor> = { forgetLoss: obj.forgetLoss, ...(obj.retainLoss ? { retainLoss: obj.retainLoss } : {}) };
  if (opts.sam) {
    report.lossAtTheta = obj.loss;
    obj = objective(plan.method, withRefs(build(samShift(obj.loss, first.params, trainNames, opts.sam.rho)).inputs), plan.options as never);
  }
  const inputs = g.nodes.filter((t) => t.op === 'input');
  return { loss: obj.loss, report, params: first.params, dropoutSeed: first.dropoutSeed, inputs };
}
