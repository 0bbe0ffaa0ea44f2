// `lethe unlearn`: a model folder, a method, a forget set and a retain set → RUN/model (the
// unlearned model, HF format), RUN/log.jsonl, RUN/config.yaml, RUN/checkpoints/. With
// `--eval-every N` small forget/retain probes are scored during training and the best step's
// weights are kept (score = retain Prob − forget Prob: forget less likely, retain as likely).

import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LetheError } from '../engine/errors.ts';
import type { HostTensor } from '../engine/dtype.ts';
import { loadTofuIdk } from '../data/tofu.ts';
import { templatePairs, type PromptPair, type PromptTemplate } from '../data/templates.ts';
import { probability } from '../eval/metrics/tofu.ts';
import { Scorer } from '../eval/score.ts';
import { loadModel } from '../models/load-model.ts';
import { applyLora, mergeLora } from '../models/lora.ts';
import { Model } from '../models/model.ts';
import { saveModel } from '../models/save-model.ts';
import { loadTokenizer } from '../models/tokenizer/load-tokenizer.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { loadCheckpoint } from '../unlearn/checkpoint.ts';
import type { Evaluation } from '../unlearn/loop.ts';
import { METHODS } from '../unlearn/methods/index.ts';
import { unlearn } from '../unlearn/run.ts';
import { rmuPattern, type ScopeOptions } from '../unlearn/scope.ts';
import { fileLayer, mergeLayers, parseLayers, path, positive, positiveInt, nonNegativeInt, writeResolvedConfig, type Layer } from './config.ts';
import { checkOutsideModel, pairsFromFile, pickTemplate, retainSplitFor, tofuItems, tofuSubset } from '../pipeline/data-sources.ts';
import { progressDisplay } from './progress.ts';
import { baseLayers, lastLogLine, checkResumeMatches, claimRunFolder, resolveTraining, runOptions, trainingFields, type ResolvedTraining } from './run-options.ts';
import { resolveScope, scopeLabel, scopeSchema } from './scope-option.ts';
import { describeRun } from './summary.ts';

export const UNLEARN_PATHS = ['model', 'forget', 'retain', 'idk', 'out'] as const;

export const unlearnSchema = z
  .strictObject({
    model: path(),
    method: z.string().min(1),
    /** Overrides of the method's defaults (β, γ, α, retain, …). */
    methodOptions: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
    /** Forget set: a data file (.jsonl QA or text lines) … */
    forget: path().optional(),
    /** … or a TOFU forget split … */
    tofuForget: z.enum(['forget01', 'forget05', 'forget10']).optional(),
    /** … or a small TOFU case (with its retain authors as the retain set). */
    tofuAuthors: positiveInt().optional(),
    forgetAuthors: positiveInt().optional(),
    /** Retain set: a data file or a TOFU split (default with a TOFU forget split: the matching retainXX). */
    retain: path().optional(),
    tofuRetain: z.string().min(1).optional(),
    /** Refusals for IdkDPO, one a line (default: TOFU's idk list). */
    idk: path().optional(),
    scope: scopeSchema.optional(),
    /** Sharpness-aware minimisation radius ρ. */
    sam: positive().optional(),
    /** Adversarial unlearning: block ℓ's output perturbed within an L2 ball of radius eps by `steps` ascent steps; a flag gives "layer,eps,steps". */
    adversarial: z
      .preprocess((v, ctx) => {
        if (typeof v !== 'string') return v;
        const [layer, eps, steps, ...extra] = v.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
        if (extra.length === 0 && [layer, eps, steps].every(Number.isFinite)) return { layer, eps, steps };
        ctx.issues.push({ code: 'custom', message: `expected layer,eps,steps (e.g. 3,0.5,4), got ${JSON.stringify(v)}`, input: v });
        return { layer: 0, eps: 1, steps: 1 };
      }, z.strictObject({ layer: nonNegativeInt(), eps: positive(), steps: positiveInt() }))
      .optional(),
    evalEvery: nonNegativeInt().optional(),
    /** Items in each probe (forget, retain) scored at evaluation steps. */
    evalItems: positiveInt().optional(),
    /** Which weights RUN/model holds when probes ran: the best-scoring step's or the last. */
    keep: z.enum(['best', 'last']).optional(),
    ...trainingFields,
  })
  .superRefine((u, ctx) => {
    const issue = (message: string, key?: string) => ctx.addIssue({ code: 'custom', message, path: key ? [key] : [] });
    if ([u.forget, u.tofuForget, u.tofuAuthors].filter((x) => x !== undefined).length !== 1) issue('give one forget set: --forget FILE, --tofu-forget SPLIT, or --tofu-authors N --forget-authors K');
    if ((u.tofuAuthors === undefined) !== (u.forgetAuthors === undefined)) issue(u.tofuAuthors === undefined ? 'needs --tofu-authors N (the authors of the case)' : 'needed with --tofu-authors (how many authors to forget)', u.tofuAuthors === undefined ? 'tofuAuthors' : 'forgetAuthors');
    if (u.retain !== undefined && u.tofuRetain !== undefined) issue('give --retain FILE or --tofu-retain SPLIT, not both', 'tofuRetain');
  });

export type UnlearnUserOptions = z.infer<typeof unlearnSchema>;

export interface ResolvedUnlearnOptions extends ResolvedTraining {
  model: string;
  method: string;
  /** Every option of the method, its defaults filled in. */
  methodOptions: Record<string, number | string>;
  forget?: string;
  tofuForget?: string;
  tofuAuthors?: number;
  forgetAuthors?: number;
  retain?: string;
  tofuRetain?: string;
  idk?: string;
  /** Absent for RMU until the model is known (its down-projections around the middle block). */
  scope?: ScopeOptions;
  sam?: number;
  adversarial?: { layer: number; eps: number; steps: number };
  evalEvery: number;
  evalItems: number;
  keep: 'best' | 'last';
}

/**
 * Every default of `lethe unlearn`: TOFU's unlearning recipe (AdamW, 5 epochs, batch 4 × 4
 * accumulated, linear decay after one warm-up epoch, weight decay 0.01) with lr 1e-5, 1e-4 for
 * LoRA (TOFU's LoRA recipe) and 5e-5 for RMU; the method's own defaults for its options.
 */
export function resolveUnlearnOptions(user: UnlearnUserOptions): ResolvedUnlearnOptions {
  const method = METHODS[user.method.toLowerCase()];
  if (!method) throw new LetheError(`--method: unknown method "${user.method}" (known: ${Object.keys(METHODS).join(', ')})`);
  const defaults = method.defaults as unknown as Record<string, number | string>;
  const methodOptions: Record<string, number | string> = { ...defaults };
  for (const [key, value] of Object.entries(user.methodOptions ?? {})) {
    if (!(key in defaults)) throw new LetheError(`--method-option ${key}: method ${method.name} has no such option (its options: ${Object.keys(defaults).join(', ')})`);
    const given = typeof defaults[key] === 'number' && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
    if (typeof given !== typeof defaults[key]) throw new LetheError(`--method-option ${key}: expected a ${typeof defaults[key]}, got ${JSON.stringify(value)}`);
    methodOptions[key] = given;
  }
  const scope = user.scope ? resolveScope(user.scope) : method.name === 'rmu' ? undefined : ({ kind: 'all' } as const);
  const lr = scope?.kind === 'lora' ? 1e-4 : method.name === 'rmu' ? 5e-5 : 1e-5;
  const evalEvery = user.evalEvery ?? 0;
  return {
    model: user.model,
    method: method.name,
    methodOptions,
    ...(user.forget !== undefined ? { forget: user.forget } : {}),
    ...(user.tofuForget !== undefined ? { tofuForget: user.tofuForget } : {}),
    ...(user.tofuAuthors !== undefined ? { tofuAuthors: user.tofuAuthors, forgetAuthors: user.forgetAuthors } : {}),
    ...(user.retain !== undefined ? { retain: user.retain } : {}),
    ...(user.tofuRetain !== undefined ? { tofuRetain: user.tofuRetain } : user.tofuForget !== undefined && user.retain === undefined ? { tofuRetain: retainSplitFor(user.tofuForget) } : {}),
    ...(user.idk !== undefined ? { idk: user.idk } : {}),
    ...(scope ? { scope } : {}),
    ...(user.sam !== undefined ? { sam: user.sam } : {}),
    ...(user.adversarial !== undefined ? { adversarial: user.adversarial } : {}),
    evalEvery,
    evalItems: user.evalItems ?? 16,
    keep: user.keep ?? (evalEvery > 0 ? 'best' : 'last'),
    ...resolveTraining(user, { lr, epochs: 5, batchSize: 4, accumulation: 4, schedule: 'linear' }),
  };
}

function unlearningSets(r: ResolvedUnlearnOptions, template: PromptTemplate): { forget: PromptPair[]; retain: PromptPair[] } {
  let forget: PromptPair[];
  let retain: PromptPair[] = [];
  if (r.tofuAuthors !== undefined) {
    const subset = tofuSubset(r.tofuAuthors, r.forgetAuthors!);
    forget = templatePairs(template, subset.forgetSet);
    retain = templatePairs(template, subset.retainSet);
  } else if (r.tofuForget !== undefined) forget = templatePairs(template, tofuItems(r.tofuForget));
  else forget = pairsFromFile(r.forget!, template);
  if (r.retain !== undefined) retain = pairsFromFile(r.retain, template);
  else if (r.tofuRetain !== undefined) retain = templatePairs(template, tofuItems(r.tofuRetain));
  return { forget, retain };
}

function readIdk(file: string): string[] {
  let lines: string[];
  try {
    lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  } catch (err) {
    throw new LetheError(`${file}: cannot read the refusal list (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (lines.length === 0) throw new LetheError(`${file}: no refusals (the file is empty)`);
  return lines;
}

/** Probes scored at evaluation steps: mean answer probability on a few forget and retain items. */
function probeEvaluator(tokenizer: Tokenizer, template: PromptTemplate, forget: PromptPair[], retain: PromptPair[], contextLength?: number) {
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

/** The weights of checkpoints/best as a model (adapters merged). */
async function bestModel(input: Model, runDir: string, scope: ScopeOptions, seed: number): Promise<Model> {
  const { tensors } = await loadCheckpoint(join(runDir, 'checkpoints', 'best'));
  const base = scope.kind === 'lora' ? applyLora(input, { r: scope.r, alpha: scope.alpha, dropout: scope.dropout, targets: scope.targets, seed }) : input;
  const params = new Map<string, HostTensor>(base.params);
  for (const [name, value] of tensors) if (params.has(name)) params.set(name, value);
  return mergeLora(new Model(base.config, params, base.lora, base.source));
}

/** Runs `lethe unlearn` from its option layers (config file, flags). */
export async function unlearnCommand(flags: Layer, configFile?: string): Promise<void> {
  const file = configFile ? fileLayer(configFile, UNLEARN_PATHS) : null;
  const early = mergeLayers([...(file ? [file] : []), flags]).values;
  const user = parseLayers(unlearnSchema, [...baseLayers(early.out as string | undefined, early.resume === true, file), flags]);
  const resolved = resolveUnlearnOptions(user);
  checkOutsideModel(resolved.out, resolved.model);
  await claimRunFolder(resolved.out, { resume: resolved.resume, overwrite: resolved.overwrite, runDirs: [resolved.out] });

  const tokenizer = loadTokenizer(resolved.model);
  const template = pickTemplate(resolved.template, tokenizer);
  const { forget, retain } = unlearningSets(resolved, template);
  const idk = resolved.idk ? readIdk(resolved.idk) : loadTofuIdk();
  const input = await loadModel(resolved.model);
  if (resolved.method === 'rmu') {
    // RMU's layer −1 is the middle block, and its default scope the MLP down-projections of blocks ℓ−2..ℓ.
    if (resolved.methodOptions.layer === -1) resolved.methodOptions.layer = Math.floor(input.config.numLayers / 2);
    resolved.scope ??= { kind: 'pattern', pattern: rmuPattern(input, resolved.methodOptions.layer as number) };
  }
  const scope = resolved.scope!;

  if (resolved.resume) checkResumeMatches(resolved.out, resolved);
  await writeResolvedConfig(resolved.out, 'unlearn', resolved);

  const display = progressDisplay(resolved.method);
  let result;
  try {
    result = await unlearn(input, tokenizer, {
      ...runOptions(resolved, forget.length),
      template,
      runDir: resolved.out,
      method: resolved.method,
      methodOptions: resolved.methodOptions,
      forget,
      retain,
      idk,
      scope,
      sam: resolved.sam !== undefined ? { rho: resolved.sam } : undefined,
      adversarial: resolved.adversarial,
      evalEvery: resolved.evalEvery,
      evaluate: resolved.evalEvery > 0 ? probeEvaluator(tokenizer, template, forget.slice(0, resolved.evalItems), retain.slice(0, resolved.evalItems), resolved.contextLength) : undefined,
      onProgress: (p) => display.update(p),
    });
  } finally {
    display.stop();
  }
  const { loop } = result;
  const useBest = resolved.keep === 'best' && loop.bestStep !== null;
  const model = useBest ? await bestModel(input, resolved.out, scope, resolved.seed) : result.model;
  const modelDir = join(resolved.out, 'model');
  await saveModel(model, modelDir);
  const trainable = result.resolved.trainableParameters as number;
  process.stdout.write(
    `lethe unlearn: ${resolved.method} (scope ${scopeLabel(scope)}, ${trainable} trainable parameters): ${describeRun(loop, await lastLogLine(resolved.out))}` +
      ` → ${modelDir}${useBest ? ` (weights of the best step, ${loop.bestStep})` : ''}\n`,
  );
}
