// The options of an unlearning run (`lethe unlearn`, its config.yaml): the schema every layer
// (saved config, config file, flags) is checked against, and every default applied in one place.

import { z } from 'zod';
import { LetheError } from '../../engine/errors.ts';
import { getMethod, methodOptions, type AnyMethod } from '../../unlearn/methods/index.ts';
import type { Model } from '../../models/model.ts';
import { LORA_LR, type ScopeOptions } from '../../unlearn/scope.ts';
import { RMU_WMDP_PRESET } from '../../unlearn/methods/rmu.ts';
import { FORGET_SPLITS, retainSplitFor } from '../data-sources.ts';
import { flag, intIn, nonNegativeInt, path, positive, positiveInt } from './fields.ts';
import { resolveScope, scopeSchema } from './scope.ts';
import { resolveTraining, trainingFields, type ResolvedTraining } from './training.ts';

export const UNLEARN_PATHS = ['model', 'tokenizer', 'forget', 'retain', 'forgetQa', 'retainQa', 'forgetMc', 'retainMc', 'idk', 'out'] as const;

/** One path or several (a repeated flag, or a list in a config file). */
const paths = () => z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(path()).min(1, 'expected at least one file'));

/** Runs `--seeds` may ask for: each seed is a whole unlearning run with its own folder. */
export const MAX_SEEDS = 100;

export const unlearnSchema = z
  .strictObject({
    /** A model folder, a llama2.c .bin checkpoint, or a Hub name org/name[@revision]. */
    model: path(),
    /** The tokenizer (file or folder) when it is not beside the model. */
    tokenizer: path().optional(),
    method: z.string().min(1),
    /** A published recipe: wmdp = RMU as the WMDP code runs it (RMU_WMDP_PRESET); any option given beside it overrides it. */
    preset: z.enum(['wmdp']).optional(),
    /** Overrides of the method's defaults (β, γ, α, retain, …). */
    methodOptions: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
    /** Forget set: a data file (.jsonl QA or text lines) … */
    forget: path().optional(),
    /** … or a TOFU forget split … */
    forgetSplit: z.enum(FORGET_SPLITS).optional(),
    /** … or a small TOFU case (with its retain authors as the retain set). */
    tofuAuthors: positiveInt().optional(),
    forgetAuthors: positiveInt().optional(),
    /** … or a TOFU-format QA file (JSON array or JSON Lines; as `lethe eval --benchmark qa` reads it). */
    forgetQa: path().optional(),
    /** Retain set as a TOFU-format QA file (JSON array or JSON Lines). */
    retainQa: path().optional(),
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
    /** What the probes measure: answer probability on forget/retain items (qa, default) or multiple-choice accuracy (mc). */
    probe: z.enum(['qa', 'mc']).optional(),
    /** --probe mc: multiple-choice files whose accuracy must fall (forget) and stay (retain). */
    forgetMc: paths().optional(),
    retainMc: paths().optional(),
    /** Which weights RUN/model holds when probes ran: the best-scoring step's or the last. */
    keep: z.enum(['best', 'last']).optional(),
    /** Run even when the forget and retain sets share items (said on stderr). */
    allowOverlap: flag().optional(),
    /** Forget or retain items longer than the context: error (default, naming file and line), skip or truncate. */
    overlong: z.enum(['error', 'skip', 'truncate']).optional(),
    /** Repeat the run with this many seeds (seed, seed + 1, …), each in OUT/seed-K/, with OUT/seeds.json summarising them. */
    seeds: intIn(1, MAX_SEEDS, `expected an integer from 1 to ${MAX_SEEDS} (each seed is a whole run)`).optional(),
    /** How RUN/model stores its weights (default: as the input model did). */
    saveDtype: z.enum(['f32', 'bf16', 'f16']).optional(),
    ...trainingFields,
  })
  .superRefine((u, ctx) => {
    const issue = (message: string, key?: string) => ctx.addIssue({ code: 'custom', message, path: key ? [key] : [] });
    if ([u.forget, u.forgetSplit, u.tofuAuthors, u.forgetQa].filter((x) => x !== undefined).length !== 1) issue('give one forget set: --forget FILE, --forget-qa FILE, --forget-split SPLIT, or --tofu-authors N --forget-authors K');
    if ([u.retain, u.tofuRetain, u.retainQa].filter((x) => x !== undefined).length > 1) issue('give one retain set: --retain FILE, --retain-qa FILE or --tofu-retain SPLIT', 'retainQa');
    if (u.probe === 'mc') {
      if (u.forgetMc === undefined && u.retainMc === undefined) issue('--probe mc needs --forget-mc FILE and/or --retain-mc FILE', 'probe');
      if ((u.evalEvery ?? 0) === 0) issue('--probe mc needs --eval-every N (the probe runs every N steps)', 'probe');
    } else {
      for (const key of ['forgetMc', 'retainMc'] as const) if (u[key] !== undefined) issue('only with --probe mc', key);
    }
    if (u.preset === 'wmdp' && u.method !== 'rmu') issue(`--preset wmdp is RMU's published recipe: use it with --method rmu (got --method ${u.method})`, 'preset');
    if ((u.tofuAuthors === undefined) !== (u.forgetAuthors === undefined)) issue(u.tofuAuthors === undefined ? 'needs --tofu-authors N (the authors of the case)' : 'needed with --tofu-authors (how many authors to forget)', u.tofuAuthors === undefined ? 'tofuAuthors' : 'forgetAuthors');
    if (u.retain !== undefined && u.tofuRetain !== undefined) issue('give --retain FILE or --tofu-retain SPLIT, not both', 'tofuRetain');
  });

export type UnlearnUserOptions = z.infer<typeof unlearnSchema>;

export interface ResolvedUnlearnOptions extends ResolvedTraining {
  model: string;
  tokenizer?: string;
  method: string;
  /** The published recipe the run follows (its options below already applied). */
  preset?: 'wmdp';
  /** Every option of the method, its defaults filled in. */
  methodOptions: Record<string, unknown>;
  forget?: string;
  forgetSplit?: string;
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
  forgetQa?: string;
  retainQa?: string;
  probe?: 'qa' | 'mc';
  forgetMc?: string[];
  retainMc?: string[];
  keep: 'best' | 'last';
  /** Present (true) only when asked: sets sharing items run anyway. */
  allowOverlap?: boolean;
  /** Forget or retain items longer than the context; absent: error (TRAINING_OVERLONG), so runs saved before the option resume as they were. */
  overlong?: 'error' | 'skip' | 'truncate';
  /** Present only when asked: the run is repeated with this many seeds, each in OUT/seed-K/. */
  seeds?: number;
  /** Present only when asked: how RUN/model stores its weights (default: as the input model did). */
  saveDtype?: 'f32' | 'bf16' | 'f16';
}

/**
 * Every default of `lethe unlearn`: TOFU's unlearning recipe (AdamW, 5 epochs, batch 4 × 4
 * accumulated, linear decay after one warm-up epoch, weight decay 0.01) with the method's own
 * learning rate (LORA_LR for LoRA) and the method's own defaults for its options.
 */
export function resolveUnlearnOptions(given: UnlearnUserOptions): ResolvedUnlearnOptions {
  const user = withPreset(given);
  let method;
  try {
    method = getMethod(user.method);
  } catch (err) {
    throw new LetheError(`--method: ${(err as Error).message}`);
  }
  const options = methodOptions(method, user.methodOptions ?? {}, (key) => `--method-option ${key}`) as Record<string, unknown>;
  // A method with its own default scope (resolved against the model once it is loaded) leaves it open here.
  const scope = user.scope ? resolveScope(user.scope) : method.scope ? undefined : ({ kind: 'all' } as const);
  const lr = scope?.kind === 'lora' ? LORA_LR : method.lr;
  const evalEvery = user.evalEvery ?? 0;
  return {
    model: user.model,
    ...(user.tokenizer !== undefined ? { tokenizer: user.tokenizer } : {}),
    method: method.name,
    ...(user.preset !== undefined ? { preset: user.preset } : {}),
    methodOptions: options,
    ...(user.forget !== undefined ? { forget: user.forget } : {}),
    ...(user.forgetSplit !== undefined ? { forgetSplit: user.forgetSplit } : {}),
    ...(user.tofuAuthors !== undefined ? { tofuAuthors: user.tofuAuthors, forgetAuthors: user.forgetAuthors } : {}),
    ...(user.retain !== undefined ? { retain: user.retain } : {}),
    ...(user.forgetQa !== undefined ? { forgetQa: user.forgetQa } : {}),
    ...(user.retainQa !== undefined ? { retainQa: user.retainQa } : {}),
    ...(user.probe !== undefined ? { probe: user.probe } : {}),
    ...(user.forgetMc !== undefined ? { forgetMc: user.forgetMc } : {}),
    ...(user.retainMc !== undefined ? { retainMc: user.retainMc } : {}),
    ...(user.tofuRetain !== undefined ? { tofuRetain: user.tofuRetain } : user.forgetSplit !== undefined && user.retain === undefined ? { tofuRetain: retainSplitFor(user.forgetSplit) } : {}),
    ...(user.idk !== undefined ? { idk: user.idk } : {}),
    ...(scope ? { scope } : {}),
    ...(user.sam !== undefined ? { sam: user.sam } : {}),
    ...(user.adversarial !== undefined ? { adversarial: user.adversarial } : {}),
    evalEvery,
    evalItems: user.evalItems ?? 16,
    keep: user.keep ?? (evalEvery > 0 ? 'best' : 'last'),
    ...(user.allowOverlap ? { allowOverlap: true } : {}),
    ...(user.overlong !== undefined ? { overlong: user.overlong } : {}),
    ...(user.seeds !== undefined ? { seeds: user.seeds } : {}),
    ...(user.saveDtype !== undefined ? { saveDtype: user.saveDtype } : {}),
    ...resolveTraining(user, { lr, epochs: 5, batchSize: 4, accumulation: 4, schedule: 'linear' }),
  };
}

/**
 * The options of a preset run: the preset's method and training options under the user's own
 * (an option given explicitly, in a flag or a config file, wins). Without a preset, `user` as it is.
 */
export function withPreset(user: UnlearnUserOptions): UnlearnUserOptions {
  if (user.preset !== 'wmdp') return user;
  const given = Object.fromEntries(Object.entries(user).filter(([, v]) => v !== undefined)) as UnlearnUserOptions;
  return { ...RMU_WMDP_PRESET.training, ...given, methodOptions: { ...RMU_WMDP_PRESET.methodOptions, ...user.methodOptions } };
}

/**
 * The method of `resolved` and its options and scope made concrete for `model` (e.g. RMU's middle
 * block and its down-projections): `resolved.methodOptions` and `resolved.scope` are filled in
 * (a scope given by the user stays). Throws LetheError for an unknown method or a bad option.
 */
export function resolveMethodFor(resolved: ResolvedUnlearnOptions, model: Model): { method: AnyMethod; scope: ScopeOptions } {
  const method = getMethod(resolved.method);
  if (method.resolve) resolved.methodOptions = method.resolve(methodOptions(method, resolved.methodOptions), model);
  resolved.scope ??= method.scope?.(methodOptions(method, resolved.methodOptions), model) ?? { kind: 'all' };
  return { method, scope: resolved.scope };
}
