/**
 * The sweep file (`SWEEP.yaml`): which model(s) and data, which methods, which values of their
 * options, loop settings and parameter scope to try (a grid, or a seeded random search), the
 * seeds, the evaluations, the retain reference, the attacks and the rule that picks the best
 * trial. Every swept field takes one value (fixed), a list (a grid axis, or the choices of a
 * random search), or, for a random search only, a range `{uniform: [a, b]}`,
 * `{logUniform: [a, b]}` or `{intUniform: [a, b]}` (both ends included for integers).
 *
 *   name: npo-vs-rmu
 *   model: runs/target/model            # or models: [a, b] (then "model" is an axis)
 *   data: {tofuAuthors: 10, forgetAuthors: 1}   # or forget/retain files, or tofuForget: forget05
 *   retainReference: runs/retain/model  # the retain model forget quality compares against
 *   evaluations: [tofu]
 *   attacks: [relearn, quantize]        # names of lethe attack's --attacks
 *   evaluation: {maxNewTokens: 64, limit: 40}   # optional: greedy tokens per answer, items per set
 *   seeds: [0, 1, 2]
 *   search: grid                        # or {random: {trials: 12, seed: 0}} (per method)
 *   loop: {epochs: 5}                   # loop settings shared by every method
 *   methods:
 *     npo: {options: {beta: [0.05, 0.1, 0.5]}, loop: {lr: [1e-5, 2e-5]}}
 *     rmu: {options: {steeringCoef: [6.5, 20]}}
 *     npo-lora: {method: npo, scope: {kind: lora, r: [4, 8]}}   # a label: a second entry of npo
 *   selection: {maximize: forgetQuality, constraints: [{metric: modelUtility, atLeast: 0.9, of: target}]}
 *
 * A bad file is ONE line naming the file, the field and the problem (LetheError, exit 2).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { LetheError } from '../../engine/errors.ts';
import { METHODS } from '../../unlearn/methods/index.ts';

export type Scalar = number | string | boolean;

const scalar = z.union([z.number(), z.string(), z.boolean()]);
const range = (key: 'uniform' | 'logUniform' | 'intUniform') =>
  z.strictObject({ [key]: z.tuple([z.number(), z.number()]) }).refine((r) => {
    const [a, b] = (r as Record<string, [number, number]>)[key];
    return a < b && (key !== 'logUniform' || a > 0) && (key !== 'intUniform' || (Number.isInteger(a) && Number.isInteger(b)));
  }, `expected [low, high] with low < high${key === 'logUniform' ? ' and low > 0' : key === 'intUniform' ? ', both integers' : ''}`);

/** One swept field: a fixed value, a list of values, or a range (random search only). */
export const sweptValueSchema = z.union([
  scalar,
  z.array(scalar).min(1, 'expected at least one value'),
  range('uniform'),
  range('logUniform'),
  range('intUniform'),
]);
export type SweptValue = z.infer<typeof sweptValueSchema>;

const sweptRecord = z.record(z.string(), sweptValueSchema);

/**
 * Loop settings a sweep may set or sweep (the unlearning run's options; the trial runner resolves
 * and checks their values).
 */
export const LOOP_SETTINGS = [
  'lr', 'epochs', 'batchSize', 'accumulation', 'schedule', 'warmupSteps', 'warmupEpochs', 'weightDecay',
  'maxGradNorm', 'optimizer', 'rho', 'momentum', 'sam', 'contextLength', 'evalEvery', 'evalItems', 'keep', 'gradientCheckpointing', 'optimizerState',
] as const;

const loopSchema = z.record(z.string(), sweptValueSchema).superRefine((loop, ctx) => {
  for (const key of Object.keys(loop)) {
    if (!(LOOP_SETTINGS as readonly string[]).includes(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: `unknown loop setting (known: ${LOOP_SETTINGS.join(', ')})` });
    }
  }
});

const methodEntrySchema = z.strictObject({
  /** The method, when the entry's key is a label (two entries of one method: npo, npo-lora). */
  method: z.string().min(1).optional(),
  /** Method options (β, α, γ, steeringCoef, layer, …); unnamed ones keep the method's defaults. */
  options: sweptRecord.optional(),
  /** Loop settings for this method; they override the sweep-wide `loop`. */
  loop: loopSchema.optional(),
  /** Parameter scope as a mapping ({kind: lora, r: [4, 8]}, {kind: saliency, keep: [0.01, 0.05]}). */
  scope: sweptRecord.optional(),
});
export type MethodEntry = z.infer<typeof methodEntrySchema>;

const pathSchema = z.string().min(1, 'expected a path');

const dataSchema = z
  .strictObject({
    forget: pathSchema.optional(),
    retain: pathSchema.optional(),
    /** A further evaluation set (text or QA) beside the forget/retain sets. */
    eval: pathSchema.optional(),
    tofuForget: z.enum(['forget01', 'forget05', 'forget10']).optional(),
    tofuRetain: z.string().min(1).optional(),
    tofuAuthors: z.number().int().positive().optional(),
    forgetAuthors: z.number().int().positive().optional(),
  })
  .superRefine((d, ctx) => {
    const forgets = [d.forget, d.tofuForget, d.tofuAuthors].filter((x) => x !== undefined).length;
    if (forgets !== 1) ctx.addIssue({ code: 'custom', message: 'give one forget set: forget (a file), tofuForget (a split), or tofuAuthors with forgetAuthors' });
    if ((d.tofuAuthors === undefined) !== (d.forgetAuthors === undefined)) ctx.addIssue({ code: 'custom', path: [d.tofuAuthors === undefined ? 'tofuAuthors' : 'forgetAuthors'], message: 'tofuAuthors and forgetAuthors go together' });
    if (d.retain !== undefined && d.tofuRetain !== undefined) ctx.addIssue({ code: 'custom', path: ['tofuRetain'], message: 'give retain (a file) or tofuRetain (a split), not both' });
  });

export const evaluationSettingsSchema = z.strictObject({
  maxNewTokens: z.number().int().nonnegative().optional(),
  limit: z.number().int().positive().optional(),
  batchSize: z.number().int().positive().optional(),
});
export type EvaluationSettings = z.infer<typeof evaluationSettingsSchema>;

const constraintSchema = z.strictObject({
  metric: z.string().min(1),
  /** Lower bound: an absolute value, or with `of: target` a fraction of the target model's value. */
  atLeast: z.number().optional(),
  atMost: z.number().optional(),
  of: z.literal('target').optional(),
}).refine((c) => c.atLeast !== undefined || c.atMost !== undefined, 'give atLeast or atMost');

export const selectionSchema = z.strictObject({
  /** The headline metric to maximise (higher is better; a metric to keep low goes in a constraint's atMost). */
  maximize: z.string().min(1).default('forgetQuality'),
  constraints: z.array(constraintSchema).default([{ metric: 'modelUtility', atLeast: 0.9, of: 'target' }]),
});
/** The selection rule: maximise one metric among the trials that meet every constraint. */
export type SelectionRule = z.infer<typeof selectionSchema>;
export const DEFAULT_SELECTION: SelectionRule = selectionSchema.parse({});

export const sweepSpecSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    model: pathSchema.optional(),
    models: z.array(pathSchema).min(1, 'expected at least one model').optional(),
    data: dataSchema,
    retainReference: pathSchema.optional(),
    evaluations: z.array(z.enum(['tofu', 'muse', 'text', 'mia', 'memorisation'])).min(1).default(['tofu']),
    attacks: z.array(z.string().min(1)).default([]),
    /** How the evaluations run: greedy tokens per answer (0: no generation, ROUGE unavailable), items per TOFU set, batch size. */
    evaluation: evaluationSettingsSchema.optional(),
    seeds: z.array(z.number().int()).min(1, 'expected at least one seed').default([0]),
    search: z
      .union([
        z.literal('grid'),
        z.strictObject({ random: z.strictObject({ trials: z.number().int().positive(), seed: z.number().int().default(0) }) }),
      ])
      .default('grid'),
    loop: loopSchema.optional(),
    methods: z.record(z.string(), methodEntrySchema.nullable()).refine((m) => Object.keys(m).length > 0, 'expected at least one method'),
    selection: selectionSchema.default(DEFAULT_SELECTION),
    /** Keep each trial's unlearned model folder (otherwise the trial runner may delete it). */
    keepModels: z.boolean().default(false),
  })
  .superRefine((s, ctx) => {
    if ((s.model === undefined) === (s.models === undefined)) ctx.addIssue({ code: 'custom', path: ['model'], message: 'give model (one path) or models (a list), exactly one of them' });
    for (const [label, entry] of Object.entries(s.methods)) {
      const name = entry?.method ?? label;
      const method = METHODS[name];
      if (!method) {
        const at = entry?.method ? ['methods', label, 'method'] : ['methods', label];
        ctx.addIssue({ code: 'custom', path: at, message: `unknown method${entry?.method ? ` "${name}"` : ''} (known: ${Object.keys(METHODS).join(', ')})` });
        continue;
      }
      const defaults = method.defaults as Record<string, unknown>;
      for (const key of Object.keys(entry?.options ?? {})) {
        if (!(key in defaults)) ctx.addIssue({ code: 'custom', path: ['methods', label, 'options', key], message: `${name} has no such option (its options: ${Object.keys(defaults).join(', ')})` });
      }
    }
    if (s.search === 'grid') {
      const ranges = (rec: Record<string, SweptValue> | undefined, at: PropertyKey[]) => {
        for (const [k, v] of Object.entries(rec ?? {})) if (isRange(v)) ctx.addIssue({ code: 'custom', path: [...at, k], message: 'a range needs search: {random: …}; a grid takes a list of values' });
      };
      ranges(s.loop, ['loop']);
      for (const [name, e] of Object.entries(s.methods)) for (const part of ['options', 'loop', 'scope'] as const) ranges(e?.[part], ['methods', name, part]);
    }
  });

export type SweepSpec = z.infer<typeof sweepSpecSchema>;

export function isRange(v: SweptValue): v is Extract<SweptValue, Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `methods.npo.options.beta[2]` */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(top level)';
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Validates a parsed sweep file. Relative paths are resolved against `baseDir` (the file's
 * folder). Errors: LetheError `FILE: FIELD: problem` naming the first bad field.
 */
export function parseSweepSpec(json: unknown, file: string, baseDir = '.'): SweepSpec {
  if (!isRecord(json)) throw new LetheError(`${file}: expected a mapping at the top level`);
  const result = sweepSpecSchema.safeParse(json, {
    error: (issue) => (issue.input === undefined && issue.code === 'invalid_type' ? 'missing (required)' : undefined),
  });
  if (!result.success) {
    // An unknown key first: a misspelt name also shows up as a missing one.
    const issue = result.error.issues.find((i) => i.code === 'unrecognized_keys') ?? result.error.issues[0];
    if (issue.code === 'unrecognized_keys') {
      throw new LetheError(`${file}: ${fieldPath([...issue.path, issue.keys[0]])}: unknown field`);
    }
    // A union reports "invalid input": say what the field takes.
    const message = issue.code === 'invalid_union' ? 'expected a value, a list of values, or a range {uniform|logUniform|intUniform: [low, high]}' : issue.message;
    throw new LetheError(`${file}: ${fieldPath(issue.path)}: ${message}`);
  }
  const spec = result.data;
  const abs = (p: string) => resolve(baseDir, p);
  const d = spec.data;
  return {
    ...spec,
    ...(spec.model !== undefined ? { model: abs(spec.model) } : {}),
    ...(spec.models !== undefined ? { models: spec.models.map(abs) } : {}),
    ...(spec.retainReference !== undefined ? { retainReference: abs(spec.retainReference) } : {}),
    data: { ...d, ...(d.forget ? { forget: abs(d.forget) } : {}), ...(d.retain ? { retain: abs(d.retain) } : {}), ...(d.eval ? { eval: abs(d.eval) } : {}) },
  };
}

/** Reads and validates a sweep file (YAML or JSON). */
export function readSweepSpec(path: string): SweepSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LetheError(code === 'ENOENT' ? `${path}: sweep file not found` : `${path}: cannot read the sweep file (${code})`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const at = e.linePos ? `:${e.linePos[0].line}:${e.linePos[0].col}` : '';
    throw new LetheError(`${path}${at}: not valid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  return parseSweepSpec(doc.toJS() ?? {}, path, dirname(resolve(path)));
}
