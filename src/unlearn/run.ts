// An unlearning run: data → batches → frozen-reference quantities (reference.ts) → one train
// step graph (step-graph.ts: the method's objective over the model's forward passes, the
// optimiser inside) → the training loop (loop.ts) over a batch schedule (batch-schedule.ts) →
// the updated model. The method is resolved once (run-plan.ts) and passed on as a value.

import type { HostTensor } from '../engine/dtype.ts';
import { LetheError } from '../engine/errors.ts';
import { TrainStep } from '../engine/train-step.ts';
import type { Feeds } from '../engine/program.ts';
import { Rng } from '../engine/random.ts';
import { makeBatches, type Batch } from '../data/batches.ts';
import type { PromptPair } from '../data/templates.ts';
import { applyLora, mergeLora } from '../models/lora.ts';
import { Model, resolveContextLength } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { runLoop } from './loop.ts';
import { BatchSchedule, batchFeeds, batchTokens } from './batch-schedule.ts';
import { referenceOutputs, type ReferenceOutputs } from './reference.ts';
import { loopOptions, toOptimizer, type RunOptions, type RunResult } from './run-options.ts';
import { planRun, type PlanInput, type RunPlan } from './run-plan.ts';
import { patternNames } from './scope.ts';
import { saliencyMasks } from './saliency.ts';
import { buildStepGraph, REF_INPUTS } from './step-graph.ts';

export type { OptimizerChoice, RunOptions, RunResult } from './run-options.ts';

export interface UnlearnOptions extends RunOptions, PlanInput {
  forget: PromptPair[];
  retain: PromptPair[];
  /** Refusal answers for IdkDPO (TOFU's idk list). */
  idk?: string[];
}

/** Tokenised batches of an unlearning run: forget, retain, and (IdkDPO) refusals aligned row by row with forget. */
export interface UnlearnBatches {
  forget: Batch[];
  retain: Batch[];
  idk?: Batch[];
}

/**
 * Unlearns `forget` from `input` while keeping `retain`, with `opts.method` (a registered name
 * or a method record) and its option overrides. Returns the updated model (under LoRA, the
 * frozen base with the trained adapters beside it, as PEFT returns them: `mergeLora` folds them
 * in, in float32, which for a 16-bit base is twice the base's memory; saveModel merges as it
 * writes; a model given with adapters is unlearned as its merged weights), the loop's outcome
 * and what was resolved. The input model is never modified.
 * Throws LetheError for an unknown method or option, an empty forget set, a missing retain set
 * or refusal list the method needs.
 */
export async function unlearn(input: Model, tokenizer: Tokenizer, opts: UnlearnOptions): Promise<RunResult> {
  if (opts.forget.length === 0) throw new LetheError('the forget set is empty');
  const plan = planRun(input, opts);
  checkData(plan, opts.forget.length, opts.retain.length, plan.needs.has('idk') ? (opts.idk?.length ?? 0) : 0);
  const rng = new Rng(opts.seed ?? 0);
  const batchOpts = { batchSize: opts.batchSize, contextLength: resolveContextLength(input.config, opts.contextLength), promptSpecialTokens: opts.template.promptSpecialTokens, appendEos: opts.template.appendEos };
  // Fixed batch compositions (so frozen-reference quantities are computed once per batch).
  const forgetPairs = rng.permutation(opts.forget.length).map((i) => opts.forget[i]);
  const batches: UnlearnBatches = {
    forget: makeBatches(tokenizer, forgetPairs, { ...batchOpts, order: 'given' }),
    retain: plan.needsRetain ? makeBatches(tokenizer, opts.retain, { ...batchOpts, order: 'shuffle', seed: (opts.seed ?? 0) + 1 }) : [],
    idk: plan.needs.has('idk')
      ? makeBatches(tokenizer, forgetPairs.map((p) => ({ ...p, target: opts.idk![rng.int(opts.idk!.length)] })), { ...batchOpts, order: 'given' })
      : undefined,
  };
  return runPlanned(input, plan, batches, opts);
}

/** The run on batches already tokenised (benchmarks feed synthetic batches). */
export async function unlearnBatches(input: Model, batches: UnlearnBatches, opts: Omit<UnlearnOptions, 'forget' | 'retain' | 'idk' | 'template'>): Promise<RunResult> {
  return runPlanned(input, planRun(input, opts), batches, opts);
}

function checkData(plan: RunPlan, forget: number, retain: number, idk: number): void {
  const name = plan.method.name;
  if (forget === 0) throw new LetheError('the forget set is empty');
  if (plan.needsRetain && retain === 0) throw new LetheError(`method ${name} uses a retain term but the retain set is empty`);
  if (plan.needs.has('idk') && idk === 0) throw new LetheError(`method ${name} needs refusal answers (the idk list)`);
}

/** θ_ref's quantities for every batch the method needs them for. */
async function references(model: Model, plan: RunPlan, batches: UnlearnBatches) {
  const { needs } = plan;
  return {
    forget: await referenceOutputs(model, batches.forget, { sequenceLogprob: needs.has('refForgetSeqLogp'), tokenLogprobs: needs.has('refForgetTokenLogprobs') }),
    idk: await referenceOutputs(model, batches.idk ?? [], { sequenceLogprob: needs.has('refIdkSeqLogp') }),
    retain: plan.needsRetain ? await referenceOutputs(model, batches.retain, { tokenLogprobs: plan.wantKl, hiddenLayer: needs.has('refRetainHidden') ? plan.hiddenLayer : undefined }) : [],
  };
}

/** The reference feeds of micro-batch k: forget and refusal rows of batch `fi`, retain batch `ri`. */
function referenceFeeds(refs: { forget: ReferenceOutputs[]; idk: ReferenceOutputs[]; retain: ReferenceOutputs[] }, fi: number, ri: number | null): Feeds {
  const feeds: Feeds = {};
  const put = (name: string, t: HostTensor | undefined) => t && (feeds[name] = t);
  put(REF_INPUTS.forgetSeqLogp, refs.forget[fi]?.sequenceLogprob);
  put(REF_INPUTS.forgetTokenLogprobs, refs.forget[fi]?.tokenLogprobs);
  put(REF_INPUTS.idkSeqLogp, refs.idk[fi]?.sequenceLogprob);
  if (ri !== null) {
    put(REF_INPUTS.retainTokenLogprobs, refs.retain[ri]?.tokenLogprobs);
    put(REF_INPUTS.retainHidden, refs.retain[ri]?.hidden);
  }
  return feeds;
}

/** The train step: the step graph, its trainable parameters (masked for a saliency scope). */
async function trainStep(model: Model, input: Model, plan: RunPlan, batches: UnlearnBatches, opts: Pick<RunOptions, 'seed' | 'sam' | 'optimizer' | 'batchSize' | 'gradientCheckpointing'>) {
  const { scope } = plan;
  const trainNames = scope.kind === 'pattern' ? patternNames(model, scope.pattern) : model.trainableNames();
  const trainable = new Set(trainNames);
  const graph = buildStepGraph(model, plan, trainNames, { seed: opts.seed ?? 0, sam: opts.sam, gradientCheckpointing: opts.gradientCheckpointing });
  const params = [...graph.params.entries()].filter(([n]) => trainable.has(n)).map(([, t]) => t);
  const trainableInputs = new Set(params);
  // The starting values as the input holds them (reset widens them again); weights `model`
  // widened from 16 bits are fresh arrays the step takes and trains in place, not a second copy.
  const initial = new Map<string, HostTensor>(trainNames.map((n) => [n, input.params.get(n)!]));
  const buffers = new Map(trainNames.filter((n) => model.params.get(n) !== input.params.get(n)).map((n) => [n, model.params.get(n)!]));
  let masks: Set<string> | undefined;
  if (scope.kind === 'saliency') {
    const m = await saliencyMasks(model, batches.forget, batches.retain, scope, trainNames);
    for (const [n, mask] of m) initial.set(`${n}.mask`, { dtype: 'float32', shape: model.params.get(n)!.shape, data: mask });
    masks = new Set(m.keys());
  }
  // Everything else the step reads: batches, reference quantities and the frozen parameters.
  const data = graph.inputs.filter((t) => !trainableInputs.has(t));
  const step = TrainStep.create({ loss: graph.loss, params, data, optimizer: toOptimizer(opts.optimizer, opts.batchSize), report: graph.report, masks }, initial, undefined, buffers);
  return { step, trainable, trainNames, dropoutSeed: graph.dropoutSeed };
}

async function runPlanned(given: Model, plan: RunPlan, batches: UnlearnBatches, opts: Omit<RunOptions, 'template'>): Promise<RunResult> {
  checkData(plan, batches.forget.length, batches.retain.length, plan.needs.has('idk') ? (batches.idk?.length === batches.forget.length ? 1 : 0) : 1);
  const { scope } = plan;
  // A model that carries adapters (an earlier LoRA run's result) is unlearned as its merged weights.
  const input = mergeLora(given);
  const adapted = scope.kind === 'lora' ? applyLora(input, { r: scope.r, alpha: scope.alpha, dropout: scope.dropout, targets: scope.targets, seed: opts.seed }) : input;
  // Parameters the step trains are float32; frozen ones may stay at the checkpoint's precision
  // (bfloat16/float16, cast in the graph): a LoRA base and the frozen reference are one 16-bit copy.
  const model = adapted.widened(scope.kind === 'pattern' ? patternNames(adapted, scope.pattern) : adapted.trainableNames());
  const refs = await references(model, plan, batches);
  const { step, trainable, trainNames, dropoutSeed } = await trainStep(model, adapted, plan, batches, opts);
  const schedule = new BatchSchedule(batches.forget.length, opts.epochs ?? 1, opts.accumulation ?? 1, opts.seed ?? 0);
  const frozen: Feeds = {};
  for (const [n, v] of model.params) if (!trainable.has(n)) frozen[n] = v;
  const feedsOf = (k: number): Feeds => {
    const fi = schedule.batchOf(k);
    const ri = plan.needsRetain ? schedule.drawFor(k, batches.retain.length) : null;
    return {
      ...frozen,
      ...batchFeeds('forget', batches.forget[fi]),
      ...(dropoutSeed ? { [dropoutSeed.name!]: { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(k)) } } : {}),
      ...(plan.needs.has('idk') ? batchFeeds('idk', batches.idk![fi]) : {}),
      ...(ri !== null ? batchFeeds('retain', batches.retain[ri]) : {}),
      ...referenceFeeds(refs, fi, ri),
    } as Feeds;
  };
  const current = () => new Model(model.config, new Map([...model.params].map(([n, v]) => [n, trainable.has(n) ? step.get(n) : v])), model.lora, model.source);
  const loop = await runLoop(step, loopOptions(opts, schedule.steps), {
    ...schedule.hooks(feedsOf, (k) => batchTokens(batches.forget[schedule.batchOf(k)])),
    evaluate: opts.evaluate ? (s) => opts.evaluate!(current(), s) : undefined,
    onProgress: opts.onProgress,
  });
  // The step's buffers become the output's weights: nothing writes them once it is disposed.
  await step.dispose();
  const out = current();
  const trainableParameters = trainNames.reduce((a, n) => a + model.params.get(n)!.data.length, 0);
  return { model: out, loop, resolved: { method: plan.method.name, options: plan.options, scope, trainableParameters, steps: schedule.steps, forgetBatches: batches.forget.length, retainBatches: batches.retain.length } };
}
