/**
 * lethe's trial runner: one sweep trial as `lethe unlearn` → `lethe eval` → `lethe attack` run
 * it, in the trial's folder:
 *
 *   TRIAL/unlearn/          the unlearning run (log.jsonl, config.yaml, checkpoints/, model/)
 *   TRIAL/unlearn.json      how it ended (steps, stopped, reason, wall time)
 *   TRIAL/eval/results.json the evaluation (lethe.results/1)
 *   TRIAL/attacks.json      the attacks record (name → before/after/recovered)
 *
 * and, shared by the trials of a sweep folder (or of a worker's folder), the evaluations that do
 * not depend on the trial, made once per content hash of model and evaluated data:
 *
 *   ROOT/retain-<key>/results.json   the retain reference (score-only: its forget truth ratios)
 *   ROOT/target-<key>/results.json   the target (the model before unlearning), and
 *   ROOT/target-<key>/headline.json  its headline metrics with intervals
 *
 * Headline metrics: forgetQuality and modelUtility (TOFU; each with its 95% bootstrap interval when
 * the evaluation gives one; forget quality is unavailable without a retain reference), mia.privLeak,
 * and `<attack>.recovered` for each attack result. The target's forgetQuality/modelUtility come on
 * the same evaluated data, for selection rules with `of: target`.
 *
 * Resume: the unlearning continues from its last checkpoint (written every `checkpointEvery`
 * steps); finished stages (the saved model, the evaluation, the attacks) are not run again.
 * Aborting stops the unlearning at the next step (its progress hook throws) and any stage
 * before it starts. Unless the trial keeps its model, TRIAL/unlearn/model and the checkpoints are
 * deleted once the attacks ran (the metrics are in the trial's files).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LetheError } from '../../engine/errors.ts';
import { unavailable, type MetricResult } from '../../eval/metrics/metric-result.ts';
import { isInterval } from '../../eval/stats/bootstrap.ts';
import { loadTofuIdk } from '../../data/tofu.ts';
import { writeFileAtomic } from '../../models/formats/write-file-atomic.ts';
import { parseConfig } from '../../models/formats/config.ts';
import { loadModel } from '../../models/load-model.ts';
import type { Model } from '../../models/model.ts';
import { loadTokenizer } from '../../models/tokenizer/load-tokenizer.ts';
import { ATTACKS } from '../../attacks/run-attacks.ts';
import { getMethod, methodOptions } from '../../unlearn/methods/index.ts';
import { runAttackSuite } from '../attack-run.ts';
import { pickTemplate, unlearningSets } from '../data-sources.ts';
import { evaluateModel, type EvaluationOptions } from '../evaluate.ts';
import { resolveMethodFor, resolveUnlearnOptions, unlearnSchema, type ResolvedUnlearnOptions } from '../options/unlearn.ts';
import { runOptions } from '../options/training.ts';
import { describeIssue } from '../options/layers.ts';
import type { MetricFamilies } from '../results-file.ts';
import { writeResolvedConfig } from '../run-config.ts';
import { silentProgress, type ProgressFactory } from '../progress.ts';
import { runUnlearning } from '../unlearning-run.ts';
import { hashJson } from './content-hash.ts';
import type { TrialConfig } from './expand.ts';
import { LOOP_SETTINGS, type Scalar } from './sweep-schema.ts';
import type { HeadlineMetric, TrialContext, TrialOutcome, TrialRunner } from './trial-runner.ts';

export interface RealRunnerOptions {
  /** Unlearning checkpoints every N optimiser steps, what a resumed trial continues from (default 20). */
  checkpointEvery?: number;
  /** Relearning attack steps (default: the attack's, 30). */
  relearnSteps?: number;
  /** Shows each trial's unlearning progress (default: nothing). */
  progress?: ProgressFactory;
}

const isScalar = (v: unknown): v is Scalar => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';

/** The unlearn command's options for a trial: the sweep's loop settings as flags would give them. */
function unlearnOptionsOf(config: TrialConfig, paths: Record<string, string | undefined>, out: string, resume: boolean): ResolvedUnlearnOptions {
  const d = config.data;
  const user = {
    model: paths.model,
    method: config.method,
    ...(paths.forget !== undefined ? { forget: paths.forget } : {}),
    ...(d.tofuForget !== undefined ? { forgetSplit: d.tofuForget } : {}),
    ...(d.tofuAuthors !== undefined ? { tofuAuthors: d.tofuAuthors, forgetAuthors: d.forgetAuthors } : {}),
    ...(paths.retain !== undefined ? { retain: paths.retain } : {}),
    ...(d.tofuRetain !== undefined ? { tofuRetain: d.tofuRetain } : {}),
    ...(config.scope ? { scope: config.scope } : {}),
    ...config.loop,
    seed: config.seed,
    out,
    resume,
  };
  const parsed = unlearnSchema.safeParse(user);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? '');
    const field = key === 'scope' ? issue.path.map(String).join('.') : (LOOP_SETTINGS as readonly string[]).includes(key) ? `loop.${key}` : key || '(trial)';
    throw new LetheError(`${field}: ${describeIssue(issue, user)} (in the ${config.method} trial)`);
  }
  const resolved = resolveUnlearnOptions(parsed.data);
  const method = getMethod(config.method);
  resolved.methodOptions = methodOptions(method, config.options, (key) => `${config.method} option ${key}`) as Record<string, unknown>;
  return resolved;
}

/** A model folder's config, read without its weights (for options resolved against the model, as RMU's layer). */
function modelShape(dir: string): Pick<Model, 'config'> | null {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return null;
  try {
    return { config: parseConfig(JSON.parse(readFileSync(file, 'utf8')), file) };
  } catch {
    return null; // the run reports a bad model with its own message
  }
}

/**
 * `expandSweep`'s `resolve` for the real runner: the unlearn command's defaults (TOFU's loop, the
 * method's learning rate, LORA_LR with LoRA, the method's option defaults, RMU's layer −1 → the
 * model's middle block, LoRA's r/alpha/dropout) written into the trial's config, so that its id
 * hashes what runs. Throws LetheError for a bad value or an unknown attack.
 */
export function resolveTrialConfig(config: TrialConfig): TrialConfig {
  for (const a of config.attacks) if (!ATTACKS[a]) throw new LetheError(`attacks: unknown attack "${a}" (known: ${Object.keys(ATTACKS).join(', ')})`);
  if (config.attacks.length > 0 && !tofuData(config)) throw new LetheError('attacks: the attacks run on TOFU data (data.tofuForget or data.tofuAuthors)');
  const paths = { model: config.model.path, forget: config.data.forget?.path, retain: config.data.retain?.path };
  const resolved = unlearnOptionsOf(config, paths, '.', false);
  const method = getMethod(config.method);
  let options = resolved.methodOptions as Record<string, unknown>;
  const shape = method.resolve ? modelShape(config.model.path) : null;
  if (method.resolve && shape) options = method.resolve(options as never, shape as Model) as Record<string, unknown>;
  const loop: Record<string, Scalar> = {};
  for (const key of LOOP_SETTINGS) {
    const v = key === 'sam' ? resolved.sam : (resolved as unknown as Record<string, unknown>)[key];
    if (isScalar(v)) loop[key] = v;
  }
  const scope = resolved.scope ? Object.fromEntries(Object.entries(resolved.scope).filter(([, v]) => isScalar(v))) as Record<string, Scalar> : undefined;
  return {
    ...config,
    options: Object.fromEntries(Object.entries(options).filter(([, v]) => isScalar(v))) as Record<string, Scalar>,
    loop,
    ...(scope ? { scope } : {}),
  };
}

const tofuData = (config: TrialConfig) => config.data.tofuAuthors !== undefined || config.data.tofuForget !== undefined;

/** What the trial's evaluations measure: TOFU with a split or authors; text/MUSE with the forget, retain and eval files. */
function evaluationOptions(config: TrialConfig, inputs: Record<string, string>): Omit<EvaluationOptions, 'model' | 'out'> {
  const e = config.evaluation ?? {};
  const text = config.evaluations.find((x) => x === 'text' || x === 'muse') as 'text' | 'muse' | undefined;
  const common = { batchSize: e.batchSize ?? 16, template: 'auto' as const, prefixTokens: 32, fewShot: 3 };
  if (text) {
    if (!inputs.forget) throw new LetheError(`evaluations: ${text} needs data.forget (a text file, one document a line)`);
    return { ...common, benchmark: text, forget: inputs.forget, ...(inputs.retain ? { retain: inputs.retain } : {}), ...(inputs.eval ? { holdout: inputs.eval } : {}), maxNewTokens: e.maxNewTokens === 0 ? null : (e.maxNewTokens ?? 128) };
  }
  if (!tofuData(config)) throw new LetheError('evaluations: tofu needs data.tofuForget or data.tofuAuthors (for files, evaluate with text or muse)');
  const d = config.data;
  return {
    ...common,
    benchmark: 'tofu',
    ...(d.tofuAuthors !== undefined ? { tofuAuthors: d.tofuAuthors, forgetAuthors: d.forgetAuthors } : { forgetSplit: d.tofuForget }),
    ...(inputs.eval ? { holdout: inputs.eval } : {}),
    ...(e.limit !== undefined ? { limit: e.limit } : {}),
    maxNewTokens: e.maxNewTokens === 0 ? null : (e.maxNewTokens ?? 200),
  };
}

function headline(m: MetricResult | undefined, what: string): HeadlineMetric {
  if (!m) return { value: null, unavailable: `${what} was not measured by this evaluation` };
  if (m.value === null) return { value: null, unavailable: m.unavailable ?? 'no reason given' };
  return { value: m.value, interval: isInterval(m.interval) ? [m.interval.lower, m.interval.upper] : null };
}

/** forgetQuality, modelUtility (TOFU) or VerbMem/KnowMem (text), and PrivLeak. */
function headlines(metrics: MetricFamilies): Record<string, HeadlineMetric> {
  const out: Record<string, HeadlineMetric> = {};
  if (metrics.tofu) {
    out.forgetQuality = headline(metrics.tofu.forgetQuality, 'forget quality');
    out.modelUtility = headline(metrics.tofu.modelUtility, 'model utility');
  } else {
    const none = unavailable('a text benchmark has no TOFU forget quality or model utility');
    out.forgetQuality = headline(none, 'forget quality');
    out.modelUtility = headline(none, 'model utility');
    for (const k of ['verbMem', 'knowMemForget', 'knowMemRetain']) if (metrics.muse?.[k]) out[`muse.${k}`] = headline(metrics.muse[k], k);
  }
  if (metrics.mia?.privLeak) out['mia.privLeak'] = headline(metrics.mia.privLeak, 'PrivLeak');
  return out;
}

/** An evaluation shared by the trials (target, retain reference), made once: ROOT/<kind>-<key>/. */
async function cached<T>(dir: string, file: string, make: () => Promise<T>): Promise<T> {
  const path = join(dir, file);
  if (existsSync(path)) return JSON.parse(await readFile(path, 'utf8')) as T;
  const value = await make();
  await writeFileAtomic(path, JSON.stringify(value, null, 1) + '\n');
  return value;
}

/**
 * lethe's trial runner for `runSweep`/`runWorker` (the TrialRunner contract: trial-runner.ts).
 * Errors: LetheError for bad input (an option value, data that does not fit the evaluation); the
 * unlearning's, evaluation's and attacks' own errors otherwise.
 */
export function realTrialRunner(opts: RealRunnerOptions = {}): TrialRunner {
  return async (ctx): Promise<TrialOutcome> => {
    const { trial, dir, inputs, signal } = ctx;
    const config = trial.config;
    const paths: TrialPaths = { dir, root: dirname(dirname(dir)), unlearnDir: join(dir, 'unlearn'), modelDir: join(dir, 'unlearn', 'model'), summaryFile: join(dir, 'unlearn.json') };
    const evalOpts = evaluationOptions(config, inputs);
    signal.throwIfAborted();

    // 1. Unlearn (resumed from the last checkpoint; skipped when an earlier attempt finished it,
    // or got past every stage that needs the model).
    const needsModel = !existsSync(join(dir, 'eval', 'headline.json')) || (config.attacks.length > 0 && !existsSync(join(dir, 'attacks.json')));
    if (!existsSync(paths.summaryFile) || (needsModel && !existsSync(join(paths.modelDir, 'config.json')))) await unlearnTrial(ctx, opts, paths);
    const unlearnSummary = JSON.parse(await readFile(paths.summaryFile, 'utf8')) as Record<string, unknown>;
    signal.throwIfAborted();

    // 2. The retain reference and the target, once per sweep folder; then the trial's model.
    const { targetMetrics, metrics } = await evaluateTrial(ctx, paths, evalOpts);

    // 3. Attacks on the unlearned model, `recovered` against the target.
    if (config.attacks.length > 0) {
      signal.throwIfAborted();
      Object.assign(metrics, await attackTrial(ctx, opts, paths, evalOpts));
    }

    // 4. The trial's model stays only when the sweep keeps models.
    if (!config.keepModel) {
      await rm(paths.modelDir, { recursive: true, force: true });
      await rm(join(paths.unlearnDir, 'checkpoints'), { recursive: true, force: true });
    }
    return {
      metrics,
      targetMetrics: Object.fromEntries(Object.entries(targetMetrics).filter(([k]) => k === 'forgetQuality' || k === 'modelUtility')),
      details: { unlearn: unlearnSummary, ...(config.keepModel ? { model: paths.modelDir } : {}) },
    };
  };
}

/** Where a trial's stages write: the trial folder, the sweep (or worker) folder shared by trials, the unlearning run and its model. */
interface TrialPaths {
  dir: string;
  root: string;
  unlearnDir: string;
  modelDir: string;
  summaryFile: string;
}

/** Stage 1: the unlearning run (resumed from its last checkpoint), and TRIAL/unlearn.json saying how it ended. */
async function unlearnTrial({ trial, inputs, signal, resume }: TrialContext, opts: RealRunnerOptions, { unlearnDir, summaryFile }: TrialPaths): Promise<void> {
  const resolved = unlearnOptionsOf(trial.config, inputs, unlearnDir, resume && existsSync(unlearnDir));
  resolved.checkpointEvery = opts.checkpointEvery ?? 20;
  const tokenizer = loadTokenizer(inputs.model);
  const template = pickTemplate(resolved.template, tokenizer);
  const { forget, retain } = unlearningSets(resolved, template);
  const input = await loadModel(inputs.model);
  const { method, scope } = resolveMethodFor(resolved, input);
  await writeResolvedConfig(unlearnDir, 'unlearn', resolved);
  const display = opts.progress ?? silentProgress;
  // The loop has no abort signal: its per-step progress hook throws, which ends the run at the
  // step's end (the last checkpoint is what the next attempt continues from).
  const progress: ProgressFactory = (label) => {
    label = `${label} ${trial.id}`;
    const d = display(label);
    return { update: (p) => { d.update(p); signal.throwIfAborted(); }, stop: () => d.stop() };
  };
  const { run, bestStep } = await runUnlearning(input, tokenizer, {
    ...runOptions(resolved, forget.length),
    template, runDir: unlearnDir, method, methodOptions: resolved.methodOptions, forget, retain, idk: loadTofuIdk(),
    scope, sam: resolved.sam !== undefined ? { rho: resolved.sam } : undefined,
    evalEvery: resolved.evalEvery, evalItems: resolved.evalItems, keep: resolved.keep, progress,
  });
  const loop = run.loop;
  await writeFileAtomic(summaryFile, JSON.stringify({ steps: loop.steps, stopped: loop.stopped, ...(loop.reason ? { reason: loop.reason } : {}), bestStep, wallSeconds: loop.wallSeconds, resumedFrom: loop.resumedFrom }, null, 1) + '\n');
}

/** Stage 2: the retain reference and the target (once per sweep folder, by content hash), then the trial's model; headline metrics of both. */
async function evaluateTrial({ trial, inputs, signal }: TrialContext, { dir, root, modelDir }: TrialPaths, evalOpts: Omit<EvaluationOptions, 'model' | 'out'>) {
  const config = trial.config;
  const dataKey = { data: config.data, evaluation: evalOpts, eval: config.data.eval?.hash };
  let retainResults: string | undefined;
  if (config.retainReference && inputs.retainReference) {
    const retainDir = join(root, `retain-${hashJson({ ...dataKey, model: config.retainReference.hash })}`);
    retainResults = join(retainDir, 'results.json');
    if (!existsSync(retainResults)) await evaluateModel({ ...evalOpts, maxNewTokens: null, model: inputs.retainReference, role: 'retain', out: retainResults });
  }
  const withRetain = retainResults ? { retainResults } : {};
  const targetDir = join(root, `target-${hashJson({ ...dataKey, model: config.model.hash, retain: config.retainReference?.hash })}`);
  const targetMetrics = await cached(targetDir, 'headline.json', async () =>
    headlines((await evaluateModel({ ...evalOpts, ...withRetain, model: inputs.model, role: 'target', out: join(targetDir, 'results.json') })).metrics));
  signal.throwIfAborted();
  const metrics = await cached(join(dir, 'eval'), 'headline.json', async () =>
    headlines((await evaluateModel({ ...evalOpts, ...withRetain, model: modelDir, role: 'unlearned', out: join(dir, 'eval', 'results.json') })).metrics));
  return { targetMetrics, metrics };
}

/** Stage 3: the attacks on the unlearned model (TRIAL/attacks.json, once), as `<attack>.recovered` headline metrics. */
async function attackTrial({ trial, inputs }: TrialContext, opts: RealRunnerOptions, { dir, modelDir }: TrialPaths, evalOpts: Omit<EvaluationOptions, 'model' | 'out'>): Promise<Record<string, HeadlineMetric>> {
  const config = trial.config;
  const attacks: Record<string, { recovered: number | null }> = await cached(dir, 'attacks.json', async () => {
    const d = config.data;
    return runAttackSuite({
      model: modelDir, targetModel: inputs.model, attacks: config.attacks,
      forgetSplit: d.tofuForget ?? 'forget10', ...(d.tofuAuthors !== undefined ? { tofuAuthors: d.tofuAuthors, forgetAuthors: d.forgetAuthors } : {}),
      template: 'auto', baseline: 'none', bits: [8, 4], maxNewTokens: evalOpts.maxNewTokens ?? 0, batchSize: evalOpts.batchSize,
      ...(opts.relearnSteps !== undefined ? { relearnSteps: opts.relearnSteps } : {}), seed: config.seed,
    });
  });
  const out: Record<string, HeadlineMetric> = {};
  for (const [name, r] of Object.entries(attacks)) {
    out[`${name}.recovered`] = r.recovered === null ? { value: null, unavailable: 'recovered is undefined: the model forgot nothing the target knew (before = target), or a score was not measured' } : { value: r.recovered, interval: null };
  }
  return out;
}
