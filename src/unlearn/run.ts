// An unlearning (or fine-tuning) run: data → batches → frozen-reference quantities → one train
// step graph (the method's objective over the model's forward passes, the optimiser inside) →
// the training loop → the updated model. `lethe unlearn` and `lethe train` are thin layers on
// these two functions.

import { grad } from '../engine/autodiff.ts';
import type { HostTensor } from '../engine/dtype.ts';
import { LetheError } from '../engine/errors.ts';
import { Graph, type Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { TrainStep, type OptimizerOptions } from '../engine/optim.ts';
import type { Feeds } from '../engine/program.ts';
import { Rng } from '../engine/random.ts';
import { makeBatches, type Batch } from '../data/batches.ts';
import type { PromptPair, PromptTemplate } from '../data/templates.ts';
import { applyLora, mergeLora } from '../models/lora.ts';
import { Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { runLoop, type Evaluation, type LoopResult, type Progress } from './loop.ts';
import { objective, type CommonOptions, type MethodInputs, type UnlearnMethod } from './method.ts';
import { METHODS } from './methods/index.ts';
import { batchCe, type Scored } from './objective.ts';
import { ReferenceScorer, type ReferenceOutputs } from './reference.ts';
import type { ScheduleKind } from './schedule.ts';
import { patternNames, rmuPattern, type ScopeOptions } from './scope.ts';
import { saliencyMasks } from './saliency.ts';
import { adversarialDelta } from './adversarial.ts';

export interface OptimizerChoice {
  kind: 'adamw' | 'sophia' | 'sgd';
  lr: number;
  weightDecay?: number;
  maxGradNorm?: number | null;
  betas?: [number, number];
  /** Sophia's ρ. */
  rho?: number;
  momentum?: number;
}

export interface RunOptions {
  template: Pick<PromptTemplate, 'promptSpecialTokens' | 'appendEos'>;
  optimizer: OptimizerChoice;
  schedule?: ScheduleKind;
  /** Linear warm-up steps (REFERENCE.md: one epoch for TOFU's recipes). Default 0. */
  warmupSteps?: number;
  /** Passes over the forget set (training set for finetune). Default 1. */
  epochs?: number;
  batchSize: number;
  /** Micro-batches per optimiser step. Default 1. */
  accumulation?: number;
  seed?: number;
  runDir: string;
  resume?: boolean;
  checkpointEvery?: number;
  evalEvery?: number;
  /** Small probes scored every evalEvery steps; the best step's weights are kept. */
  evaluate?: (model: Model, step: number) => Promise<Evaluation>;
  /** Sharpness-aware minimisation: the update uses the gradient at θ + ρ·g/‖g‖. */
  sam?: { rho: number };
  contextLength?: number;
  onProgress?: (p: Progress) => void;
}

export interface UnlearnOptions extends RunOptions {
  method: string;
  methodOptions?: Record<string, number | string>;
  forget: PromptPair[];
  retain: PromptPair[];
  /** Refusal answers for IdkDPO (TOFU's idk list). */
  idk?: string[];
  scope?: ScopeOptions;
  /** Adversarial unlearning: perturb block `layer`'s output within an L2 ball of radius eps by `steps` ascent steps first. */
  adversarial?: { layer: number; eps: number; steps: number };
}

export interface RunResult {
  model: Model;
  loop: LoopResult;
  /** Everything resolved: method options with defaults, scope, trainable parameter count. */
  resolved: Record<string, unknown>;
}

function loopOptions(opts: Omit<RunOptions, 'template'>, steps: number) {
  return {
    schedule: { kind: opts.schedule ?? 'constant', lr: opts.optimizer.lr, warmupSteps: opts.warmupSteps ?? 0, totalSteps: steps },
    runDir: opts.runDir,
    checkpointEvery: opts.checkpointEvery ?? 0,
    evalEvery: opts.evaluate ? (opts.evalEvery ?? 0) : 0,
    resume: opts.resume ?? false,
  };
}

/** ids, labels and mask inputs of one batch kind; `rows` names its batch dimension (IdkDPO's refusals share the forget batch's rows). */
const scoredInputs = (g: Graph, prefix: string, rows = `B${prefix}`) => ({
  ids: g.input(`${prefix}.input_ids`, 'int64', [rows, `T${prefix}`]),
  labels: g.input(`${prefix}.labels`, 'int64', [rows, `T${prefix}`]),
  mask: g.input(`${prefix}.mask`, 'float32', [rows, `T${prefix}`]),
});

function batchFeeds(prefix: string, b: Batch): Feeds {
  const shape = [b.batchSize, b.seqLength];
  return {
    [`${prefix}.input_ids`]: { dtype: 'int64', shape, data: b.inputIds },
    [`${prefix}.labels`]: { dtype: 'int64', shape, data: b.labels },
    [`${prefix}.mask`]: { dtype: 'float32', shape, data: b.targetMask },
  };
}

function toOptimizer(c: OptimizerChoice, batchSize: number): OptimizerOptions {
  const common = { weightDecay: c.weightDecay, maxGradNorm: c.maxGradNorm === undefined ? 1.0 : c.maxGradNorm };
  if (c.kind === 'sophia') return { kind: 'sophia', ...common, betas: c.betas, rho: c.rho, batchSize };
  if (c.kind === 'sgd') return { kind: 'sgd', ...common, momentum: c.momentum };
  return { kind: 'adamw', ...common, betas: c.betas };
}

function resolveMethod(name: string, overrides: Record<string, number | string> = {}): { method: UnlearnMethod<never>; options: CommonOptions & Record<string, unknown> } {
  const method = METHODS[name.toLowerCase()];
  if (!method) throw new LetheError(`unknown method "${name}"; known: ${Object.keys(METHODS).join(', ')}`);
  for (const k of Object.keys(overrides)) {
    if (!(k in method.defaults)) throw new LetheError(`method ${method.name} has no option "${k}"; its options: ${Object.keys(method.defaults).join(', ')}`);
  }
  return { method, options: { ...(method.defaults as CommonOptions), ...overrides } };
}

/** Unlearn `forget` from `model` while keeping `retain`. The input model is never modified. */
/** Tokenised batches of an unlearning run: forget, retain, and (IdkDPO) refusals aligned row by row with forget. */
export interface UnlearnBatches {
  forget: Batch[];
  retain: Batch[];
  idk?: Batch[];
}

function plan(input: Model, opts: Pick<UnlearnOptions, 'method' | 'methodOptions' | 'scope' | 'adversarial'>) {
  const { method, options } = resolveMethod(opts.method, opts.methodOptions);
  const needs = new Set(method.needs);
  if (method.name === 'rmu' && (options.layer as number) < 0) options.layer = Math.floor(input.config.numLayers / 2);
  const layer = options.layer as number | undefined;
  const scope: ScopeOptions = opts.scope ?? (method.name === 'rmu' ? { kind: 'pattern', pattern: rmuPattern(input, layer!) } : { kind: 'all' });
  const needsRetain = options.alpha !== 0 && (options.retain !== 'none' || method.retainLoss !== undefined);
  const adv = opts.adversarial;
  if (adv && !(Number.isInteger(adv.layer) && adv.layer >= 0 && adv.layer < input.config.numLayers && adv.eps > 0 && Number.isInteger(adv.steps) && adv.steps >= 1)) {
    throw new LetheError(`--adversarial layer,eps,steps: layer must be 0..${input.config.numLayers - 1}, eps > 0, steps ≥ 1; got ${JSON.stringify(adv)}`);
  }
  return { method, options, needs, layer, scope, needsRetain, adv };
}

/** Unlearn `forget` from `model` while keeping `retain`. The input model is never modified. */
export async function unlearn(input: Model, tokenizer: Tokenizer, opts: UnlearnOptions): Promise<RunResult> {
  if (opts.forget.length === 0) throw new LetheError('the forget set is empty');
  const { method, needs, needsRetain } = plan(input, opts);
  if (needsRetain && opts.retain.length === 0) throw new LetheError(`method ${method.name} uses a retain term but the retain set is empty`);
  if (needs.has('idk') && !opts.idk?.length) throw new LetheError(`method ${method.name} needs refusal answers (the idk list)`);
  const rng = new Rng(opts.seed ?? 0);
  const ctx = opts.contextLength ?? input.config.maxPositions;
  const batchOpts = { batchSize: opts.batchSize, contextLength: ctx, promptSpecialTokens: opts.template.promptSpecialTokens, appendEos: opts.template.appendEos };
  // Fixed batch compositions (so frozen-reference quantities are computed once per batch).
  const order = rng.permutation(opts.forget.length);
  const forgetPairs = order.map((i) => opts.forget[i]);
  const batches: UnlearnBatches = {
    forget: makeBatches(tokenizer, forgetPairs, { ...batchOpts, order: 'given' }),
    retain: needsRetain ? makeBatches(tokenizer, opts.retain, { ...batchOpts, order: 'shuffle', seed: (opts.seed ?? 0) + 1 }) : [],
    idk: needs.has('idk')
      ? makeBatches(tokenizer, forgetPairs.map((p) => ({ ...p, target: opts.idk![rng.int(opts.idk!.length)] })), { ...batchOpts, order: 'given' })
      : undefined,
  };
  return unlearnBatches(input, batches, opts);
}

/** The run on batches already tokenised (what `unlearn` calls; benchmarks feed synthetic batches). */
export async function unlearnBatches(input: Model, batches: UnlearnBatches, opts: Omit<UnlearnOptions, 'forget' | 'retain' | 'idk' | 'template'>): Promise<RunResult> {
  const { method, options, needs, layer, scope, needsRetain, adv } = plan(input, opts);
  if (batches.forget.length === 0) throw new LetheError('the forget set is empty');
  if (needsRetain && batches.retain.length === 0) throw new LetheError(`method ${method.name} uses a retain term but the retain set is empty`);
  if (needs.has('idk') && batches.idk?.length !== batches.forget.length) throw new LetheError(`method ${method.name} needs refusal batches aligned with the forget batches`);
  const model = scope.kind === 'lora' ? applyLora(input, { r: scope.r, alpha: scope.alpha, dropout: scope.dropout, targets: scope.targets, seed: opts.seed }) : input;
  const rng = new Rng((opts.seed ?? 0) + 2);
  const forgetBatches = batches.forget;
  const retainBatches = batches.retain;
  const idkBatches = batches.idk ?? [];

  // Frozen-reference quantities, once per batch.
  const refForget: ReferenceOutputs[] = [];
  const refIdk: ReferenceOutputs[] = [];
  const refRetain: ReferenceOutputs[] = [];
  const wantKl = needsRetain && options.retain === 'kl';
  if (needs.has('refForgetLogp') || needs.has('refForgetLogprobs')) {
    const ref = new ReferenceScorer(model, { seqLogp: needs.has('refForgetLogp'), logprobs: needs.has('refForgetLogprobs') });
    for (const b of forgetBatches) refForget.push(await ref.run(b));
    if (needs.has('refIdkLogp')) for (const b of idkBatches) refIdk.push(await ref.run(b));
    await ref.dispose();
  }
  if (needsRetain && (wantKl || needs.has('refRetainHidden'))) {
    const ref = new ReferenceScorer(model, { logprobs: wantKl, hiddenLayer: needs.has('refRetainHidden') ? layer : undefined });
    for (const b of retainBatches) refRetain.push(await ref.run(b));
    await ref.dispose();
  }

  // The step graph.
  const g = new Graph();
  const f = scoredInputs(g, 'forget');
  const r = needsRetain ? scoredInputs(g, 'retain') : null;
  const i = needs.has('idk') ? scoredInputs(g, 'idk', 'Bforget') : null;
  let dropoutSeed: Tensor | null | undefined; // LoRA dropout's seed input, shared by every pass
  const forward = (ids: Tensor, given?: ReadonlyMap<string, Tensor>, perturb?: { layer: number; delta: Tensor }) => {
    const out = model.forward(g, ids, { training: true, params: given, dropoutSeed, perturb });
    dropoutSeed ??= out.dropoutSeed;
    return out;
  };
  /** The method's inputs from forward passes over the given parameter tensors (new inputs the first time). */
  const forgetPass = (given?: ReadonlyMap<string, Tensor>) => {
    const clean = forward(f.ids, given);
    if (!adv) return clean;
    const delta = adversarialDelta((d) => forward(f.ids, clean.params, { layer: adv.layer, delta: d }).logits, clean.hidden[adv.layer], f.labels, f.mask, adv);
    return forward(f.ids, clean.params, { layer: adv.layer, delta });
  };
  const build = (given?: ReadonlyMap<string, Tensor>) => {
    const fwd = forgetPass(given);
    const hiddenOf = (h: Tensor[]) => (layer !== undefined ? h[layer] : undefined);
    const inputs: MethodInputs = { forget: { logits: fwd.logits, labels: f.labels, mask: f.mask, hidden: hiddenOf(fwd.hidden) } };
    const params = fwd.params;
    if (r) {
      const rf = forward(r.ids, params);
      inputs.retain = { logits: rf.logits, labels: r.labels, mask: r.mask, hidden: hiddenOf(rf.hidden) };
    }
    if (i) inputs.idk = { logits: forward(i.ids, params).logits, labels: i.labels, mask: i.mask } satisfies Scored;
    return { inputs, params, dropoutSeed: fwd.dropoutSeed };
  };
  const first = build();
  const refInput = (name: string, shape: (string | number)[]) => g.input(name, 'float32', shape);
  const V = model.config.vocabSize;
  const attachRefs = (inputs: MethodInputs) => {
    if (needs.has('refForgetLogp')) inputs.refForgetLogp = refTensors.forgetLogp;
    if (needs.has('refIdkLogp')) inputs.refIdkLogp = refTensors.idkLogp;
    if (needs.has('refForgetLogprobs')) inputs.refForgetLogprobs = refTensors.forgetLogprobs;
    if (wantKl) inputs.refRetainLogprobs = refTensors.retainLogprobs;
    if (needs.has('refRetainHidden')) inputs.refRetainHidden = refTensors.retainHidden;
    if (method.name === 'rmu') inputs.direction = direction;
    return inputs;
  };
  const refTensors = {
    forgetLogp: needs.has('refForgetLogp') ? refInput('ref.forgetLogp', ['Bforget']) : undefined,
    idkLogp: needs.has('refIdkLogp') ? refInput('ref.idkLogp', ['Bforget']) : undefined,
    forgetLogprobs: needs.has('refForgetLogprobs') ? refInput('ref.forgetLogprobs', ['Bforget', 'Tforget', V]) : undefined,
    retainLogprobs: wantKl ? refInput('ref.retainLogprobs', ['Bretain', 'Tretain', V]) : undefined,
    retainHidden: needs.has('refRetainHidden') ? refInput('ref.retainHidden', ['Bretain', 'Tretain', model.config.hiddenSize]) : undefined,
  };
  // RMU's u ~ U[0,1)^d, normalised, fixed for the run.
  const u = Float32Array.from({ length: model.config.hiddenSize }, () => rng.next());
  const norm = Math.hypot(...u);
  const direction = g.constant({ dtype: 'float32', shape: [u.length], data: u.map((x) => x / norm) });

  const trainNames = scope.kind === 'pattern' ? patternNames(model, scope.pattern) : model.trainableNames();
  const trainable = new Set(trainNames);
  let obj = objective(method, attachRefs(first.inputs), options as never);
  const report: Record<string, Tensor> = { forgetLoss: obj.forgetLoss, ...(obj.retainLoss ? { retainLoss: obj.retainLoss } : {}) };
  if (opts.sam) {
    // SAM: ε = ρ·g/‖g‖ at θ, then the loss (and its gradient) at θ + ε.
    const ps = trainNames.map((n) => first.params.get(n)!);
    const gs = grad(obj.loss, ps);
    const gn = o.sqrt(gs.map((x) => o.sum(o.square(x))).reduce((a, b) => o.add(a, b)));
    const shifted = new Map(first.params);
    ps.forEach((p, i) => shifted.set(trainNames[i], o.add(p, o.stopGradient(o.mul(gs[i], o.div(opts.sam!.rho, o.add(gn, 1e-12)))))));
    report.lossAtTheta = obj.loss;
    obj = objective(method, attachRefs(build(shifted).inputs), options as never);
  }
  const paramTensors = [...first.params.entries()];
  const params = paramTensors.filter(([n]) => trainable.has(n)).map(([, t]) => t);
  // Everything else the step reads: batches, reference quantities and the frozen parameters.
  const trainableInputs = new Set(params);
  const dataInputs = g.nodes.filter((t) => t.op === 'input' && !trainableInputs.has(t));

  const initial = new Map<string, HostTensor>(trainNames.map((n) => [n, model.params.get(n)!]));
  let masks: Set<string> | undefined;
  if (scope.kind === 'saliency') {
    const m = await saliencyMasks(model, forgetBatches, retainBatches, scope, trainNames);
    for (const [n, mask] of m) initial.set(`${n}.mask`, { dtype: 'float32', shape: model.params.get(n)!.shape, data: mask });
    masks = new Set(m.keys());
  }
  const step = TrainStep.create({ loss: obj.loss, params, data: dataInputs, optimizer: toOptimizer(opts.optimizer, opts.batchSize), report, masks }, initial);

  // Which batches each step sees: forget batches in a seeded order per epoch, one random retain batch each.
  const acc = opts.accumulation ?? 1;
  const epochs = opts.epochs ?? 1;
  const perEpoch = forgetBatches.length;
  const totalMicro = epochs * perEpoch;
  const steps = Math.ceil(totalMicro / acc);
  const frozenFeeds: Feeds = {};
  for (const [n, v] of model.params) if (!trainable.has(n)) frozenFeeds[n] = v;
  const micro = (k: number): Feeds => {
    const epoch = Math.floor(k / perEpoch);
    const fi = new Rng((opts.seed ?? 0) * 1000003 + epoch).permutation(perEpoch)[k % perEpoch];
    const feeds: Feeds = { ...frozenFeeds, ...batchFeeds('forget', forgetBatches[fi]) };
    if (first.dropoutSeed) feeds[first.dropoutSeed.name!] = { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(k)) };
    if (needs.has('idk')) Object.assign(feeds, batchFeeds('idk', idkBatches[fi]));
    if (refTensors.forgetLogp) feeds['ref.forgetLogp'] = refForget[fi].seqLogp!;
    if (refTensors.forgetLogprobs) feeds['ref.forgetLogprobs'] = refForget[fi].logprobs!;
    if (refTensors.idkLogp) feeds['ref.idkLogp'] = refIdk[fi].seqLogp!;
    if (needsRetain) {
      const ri = new Rng((opts.seed ?? 0) * 7919 + k + 17).int(retainBatches.length);
      Object.assign(feeds, batchFeeds('retain', retainBatches[ri]));
      if (refTensors.retainLogprobs) feeds['ref.retainLogprobs'] = refRetain[ri].logprobs!;
      if (refTensors.retainHidden) feeds['ref.retainHidden'] = refRetain[ri].hidden!;
    }
    return feeds;
  };
  const tokensOf = (k: number) => forgetBatches[k % perEpoch].lengths.reduce((a, b) => a + b, 0);
  const current = () => new Model(model.config, new Map([...model.params].map(([n, v]) => [n, trainable.has(n) ? step.get(n) : v])), model.lora, model.source);
  const loop = await runLoop(step, loopOptions(opts, steps), {
    batchesFor: (s) => Array.from({ length: Math.min(acc, totalMicro - s * acc) }, (_, j) => micro(s * acc + j)),
    tokensFor: (s) => Array.from({ length: Math.min(acc, totalMicro - s * acc) }, (_, j) => tokensOf(s * acc + j)).reduce((a, b) => a + b, 0),
    evaluate: opts.evaluate ? (s) => opts.evaluate!(mergeLora(current()), s) : undefined,
    onProgress: opts.onProgress,
  });
  const final = current();
  const out = mergeLora(new Model(final.config, new Map([...final.params].map(([n, v]) => [n, trainable.has(n) ? { ...v, data: Float32Array.from(v.data as Float32Array) } : v])), final.lora, final.source));
  await step.dispose();
  return {
    model: out,
    loop,
    resolved: { method: method.name, options, scope, trainableParameters: trainNames.reduce((a, n) => a + model.params.get(n)!.data.length, 0), steps, forgetBatches: perEpoch, retainBatches: retainBatches.length },
  };
}

/** Fine-tune `model` on `data` (the target model: everything; the retain model: without the forget set). */
export async function finetune(input: Model, tokenizer: Tokenizer, opts: RunOptions & { data: PromptPair[] }): Promise<RunResult> {
  if (opts.data.length === 0) throw new LetheError('the training set is empty');
  const model = input;
  const ctx = opts.contextLength ?? model.config.maxPositions;
  const batches = makeBatches(tokenizer, opts.data, { batchSize: opts.batchSize, contextLength: ctx, order: 'given', promptSpecialTokens: opts.template.promptSpecialTokens, appendEos: opts.template.appendEos });
  const g = new Graph();
  const d = scoredInputs(g, 'data');
  const fwd = model.forward(g, d.ids, { training: true });
  const loss = batchCe({ logits: fwd.logits, labels: d.labels, mask: d.mask });
  const names = [...fwd.params.keys()];
  const step = TrainStep.create({ loss, params: [...fwd.params.values()], data: [d.ids, d.labels, d.mask], optimizer: toOptimizer(opts.optimizer, opts.batchSize) }, model.params);
  const acc = opts.accumulation ?? 1;
  const perEpoch = batches.length;
  const totalMicro = (opts.epochs ?? 1) * perEpoch;
  const steps = Math.ceil(totalMicro / acc);
  const pick = (k: number) => batches[new Rng((opts.seed ?? 0) * 1000003 + Math.floor(k / perEpoch)).permutation(perEpoch)[k % perEpoch]];
  const current = () => new Model(model.config, new Map(names.map((n) => [n, step.get(n)])), null, model.source);
  const loop = await runLoop(step, loopOptions(opts, steps), {
    batchesFor: (s) => Array.from({ length: Math.min(acc, totalMicro - s * acc) }, (_, j) => batchFeeds('data', pick(s * acc + j))),
    tokensFor: (s) => Array.from({ length: Math.min(acc, totalMicro - s * acc) }, (_, j) => pick(s * acc + j).lengths.reduce((a, b) => a + b, 0)).reduce((a, b) => a + b, 0),
    evaluate: opts.evaluate ? (s) => opts.evaluate!(current(), s) : undefined,
    onProgress: opts.onProgress,
  });
  const out = new Model(model.config, new Map(names.map((n) => [n, { ...step.get(n), data: Float32Array.from(step.get(n).data as Float32Array) }])), null, model.source);
  await step.dispose();
  return { model: out, loop, resolved: { steps, batches: perEpoch } };
}
