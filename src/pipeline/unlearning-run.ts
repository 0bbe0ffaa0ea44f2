// An unlearning run as the command (and a library user) runs it: the run itself, small
// forget/retain probes scored every N steps with the best step's weights kept, and the chosen
// weights saved as RUN/model (HF format). score = retain Prob − forget Prob: the forget answers
// less likely, the retain answers as likely.

import { join } from 'node:path';
import type { HostTensor } from '../engine/dtype.ts';
import type { PromptPair, PromptTemplate } from '../data/templates.ts';
import { probability } from '../eval/metrics/tofu.ts';
import { Scorer } from '../eval/score.ts';
import { applyLora } from '../models/lora.ts';
import { Model } from '../models/model.ts';
import { saveModel } from '../models/save-model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { loadCheckpoint } from '../unlearn/checkpoint.ts';
import type { Evaluation } from '../unlearn/loop.ts';
import { unlearn, type RunResult, type UnlearnOptions } from '../unlearn/run.ts';
import type { ScopeOptions } from '../unlearn/scope.ts';
import { silentProgress, withProgress, type ProgressFactory } from './progress.ts';
import { mcMetrics, type McRunOptions, type McSides } from './eval-mc.ts';

export interface UnlearningRunOptions extends Omit<UnlearnOptions, 'evaluate' | 'onProgress' | 'template'> {
  template: PromptTemplate;
  /** Items in each probe (forget, retain) scored at evaluation steps (with evalEvery > 0). */
  evalItems?: number;
  /** Multiple-choice accuracy as the probe instead of answer probability (capability unlearning). */
  mcProbe?: { sides: McSides; options: Omit<McRunOptions, 'meter'> };
  /** Which weights RUN/model holds when probes ran: the best-scoring step's or the last. Default best when probing. */
  keep?: 'best' | 'last';
  /** How RUN/model stores its weights; default as the input checkpoint (saveModel). */
  saveDtype?: 'F32' | 'F16' | 'BF16';
  progress?: ProgressFactory;
}

export interface UnlearningRunResult {
  run: RunResult;
  /** The saved model: the best step's weights when kept, else the last. */
  model: Model;
  /** RUN/model. */
  modelDir: string;
  /** The step whose weights were kept, when the best step's were. */
  bestStep: number | null;
}

/** Probes scored at evaluation steps: mean answer probability on a few forget and retain items. */
export function probeEvaluator(tokenizer: Tokenizer, template: PromptTemplate, forget: PromptPair[], retain: PromptPair[], contextLength?: number) {
  return async (model: Model): Promise<Evaluation> => {
    const scorer = new Scorer(model, tokenizer, { template, contextLength });
    try {
      const prob = async (pairs: PromptPair[]) => (pairs.length ? probability((await scorer.score(pairs)).map((s) => s.ce)).value ?? 0 : 0);
      const forgetProb = await prob(forget);
      const retainProb = await prob(retain);
      return { score: retainProb - forgetProb, metrics: { forgetProb, retainProb } };
    } finally {
      await scorer.dispose();
    }
  };
}

/**
 * A multiple-choice probe: every file of both sides scored as `lethe eval --benchmark mc` does
 * (a fresh Scorer per call: the weights changed). score = retain acc − forget acc (pooled per
 * side; a side not given counts 0): the forget-side capability falls toward chance while the
 * retain side stays. Metrics: forgetAcc, forgetAccNorm, retainAcc, retainAccNorm.
 */
export function mcProbeEvaluator(tokenizer: Tokenizer, sides: McSides, options: Omit<McRunOptions, 'meter'>) {
  return async (model: Model): Promise<Evaluation> => {
    const { metrics } = await mcMetrics(model, tokenizer, sides, options);
    const values: Record<string, number> = {};
    for (const key of ['forgetAcc', 'forgetAccNorm', 'retainAcc', 'retainAccNorm']) {
      const v = metrics.mc[key]?.value;
      if (typeof v === 'number') values[key] = v;
    }
    return { score: (values.retainAcc ?? 0) - (values.forgetAcc ?? 0), metrics: values };
  };
}

/** The weights of checkpoints/best as a model (under LoRA, with its adapters beside the base, as `unlearn` returns it). */
export async function bestModel(input: Model, runDir: string, scope: ScopeOptions, seed: number): Promise<Model> {
  const { tensors } = await loadCheckpoint(join(runDir, 'checkpoints', 'best'));
  const base = scope.kind === 'lora' ? applyLora(input, { r: scope.r, alpha: scope.alpha, dropout: scope.dropout, targets: scope.targets, seed }) : input;
  const params = new Map<string, HostTensor>(base.params);
  for (const [name, value] of tensors) if (params.has(name)) params.set(name, value);
  return new Model(base.config, params, base.lora, base.source);
}

/**
 * Unlearns, with probes when `evalEvery` > 0, and saves the kept weights to `runDir/model`.
 * Errors as `unlearn`.
 */
export async function runUnlearning(input: Model, tokenizer: Tokenizer, opts: UnlearningRunOptions): Promise<UnlearningRunResult> {
  const evalEvery = opts.evalEvery ?? 0;
  const items = opts.evalItems ?? 16;
  const evaluate = evalEvery === 0 ? undefined
    : opts.mcProbe ? mcProbeEvaluator(tokenizer, opts.mcProbe.sides, opts.mcProbe.options)
      : probeEvaluator(tokenizer, opts.template, opts.forget.slice(0, items), opts.retain.slice(0, items), opts.contextLength);
  const run = await withProgress(opts.progress ?? silentProgress, typeof opts.method === 'string' ? opts.method : opts.method.name, (onProgress) =>
    unlearn(input, tokenizer, { ...opts, evalEvery, evaluate, onProgress }));
  const keepBest = (opts.keep ?? (evalEvery > 0 ? 'best' : 'last')) === 'best' && run.loop.bestStep !== null;
  const model = keepBest ? await bestModel(input, opts.runDir, run.resolved.scope as ScopeOptions, opts.seed ?? 0) : run.model;
  const modelDir = join(opts.runDir, 'model');
  await saveModel(model, modelDir, opts.saveDtype ? { dtype: opts.saveDtype } : {});
  return { run, model, modelDir, bestStep: keepBest ? run.loop.bestStep : null };
}
