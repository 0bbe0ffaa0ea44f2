/**
 * The results file of one run, `results.json`, versioned as `lethe.results/1`: the metrics of one
 * model (TOFU, MUSE, MIA, memorisation), the attacks run against it and what they cost.
 *
 * Metrics keep the shape the metric functions return (`{value, perItem, unavailable}`): `value`
 * null means "could not be computed" and then `unavailable` must say why (no retain model, no
 * items), never a stand-in number. Per-item values are kept so that later runs can be compared
 * item by item (forget quality is a KS test over them).
 *
 * Attack `recovered` is the fraction of the forgotten knowledge that came back, on forget Prob:
 * (after − before) / (target − before), target the model before unlearning; null when the
 * target is unknown or equals `before` (nothing was forgotten).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LetheError } from '../engine/errors.ts';

export const RESULTS_SCHEMA = 'lethe.results/1';

// zod 4's number() refuses NaN and ±Infinity (JSON cannot hold them anyway).
const finite = z.number();
const nonNegative = z.number().nonnegative('expected a number ≥ 0');

/** A 95% bootstrap interval over items (src/eval/stats/bootstrap.ts), or why there is none. */
export const intervalSchema = z.union([
  z.strictObject({
    lower: finite,
    upper: finite,
    level: z.number().gt(0).lt(1),
    method: z.string().min(1),
    resamples: z.number().int().positive(),
    seed: z.number().int(),
    note: z.string().optional(),
  }),
  z.strictObject({ unavailable: z.string().min(1) }),
]);

export const metricValueSchema = z
  .strictObject({
    value: finite.nullable(),
    /** Why `value` is null, shown to the reader. */
    unavailable: z.string().min(1).optional(),
    perItem: z.array(finite).optional(),
    /** Items the value was computed on (absent in files written before lethe recorded it). */
    n: z.number().int().nonnegative().optional(),
    /** Items the protocol left out, and why. */
    skipped: z.strictObject({ count: z.number().int().nonnegative(), reason: z.string().min(1) }).optional(),
    interval: intervalSchema.optional(),
    /** Per-item values of each sample of a two-sample metric (an AUC's forget and holdout scores). */
    groups: z.record(z.string(), z.array(finite)).optional(),
  })
  .refine((m) => m.value !== null || m.unavailable !== undefined, {
    message: 'value is null but "unavailable" does not say why',
    path: ['unavailable'],
  });

/** Scores measured before and after an attack, by name (forgetProb, forgetRouge, …). */
const scoresSchema = z.record(z.string(), finite.nullable());

export const attackResultSchema = z.strictObject({
  before: scoresSchema,
  after: scoresSchema,
  /** (after − before) / (target − before) on forget Prob; null when undefined. */
  recovered: finite.nullable(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** Where one shared item is: its set, its "file:line" (or "<set> item N"). */
const overlapOccurrenceSchema = z.strictObject({ set: z.string(), index: z.number().int().nonnegative(), where: z.string() });

/** Items two evaluated (or trained) sets share, run anyway with --allow-overlap (src/data/overlap.ts). */
export const overlapSchema = z.strictObject({
  sets: z.tuple([z.string(), z.string()]),
  count: z.number().int().positive(),
  items: z.array(z.strictObject({ first: overlapOccurrenceSchema, second: overlapOccurrenceSchema, text: z.string() })),
});

/** Items longer than the context, per set, and what was done with them (--overlong). */
export const overlongSchema = z.strictObject({
  policy: z.enum(['error', 'skip', 'truncate']),
  skipped: z.number().int().nonnegative(),
  truncated: z.number().int().nonnegative(),
  /** Each such item: "file:line" and its length in tokens. */
  items: z.array(z.strictObject({ where: z.string(), tokens: z.number().int().nonnegative(), action: z.enum(['skipped', 'truncated']) })),
});

/**
 * What was evaluated, so that two results are compared only on the same data: the sha256 of
 * every data source (a file's bytes, or a TOFU split's shipped items), the split names, the
 * prompt template, the tokenizer (sha256 of tokenizer.json or the llama2.c file) and the model
 * weights (sha256 of the weight files).
 */
export const evaluatedSchema = z.looseObject({
  /** Set role (forget, retain, holdout, forgetQa, …) → where it came from and its content hash. */
  data: z.record(z.string(), z.strictObject({ source: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), items: z.number().int().nonnegative() })),
  template: z.string().optional(),
  tokenizer: z.string().optional(),
  weights: z.string().optional(),
});

/** One multiple-choice accuracy: the mean over items, the harness's standard error, a bootstrap interval. */
const mcAccuracySchema = z.strictObject({
  value: finite.nullable(),
  unavailable: z.string().min(1).optional(),
  /** lm-evaluation-harness's mean_stderr (or pooled_sample_stderr for a pooled row). */
  stderr: finite.nullable(),
  stderrUnavailable: z.string().min(1).optional(),
  interval: intervalSchema.optional(),
  perItem: z.array(finite).optional(),
});

/** One multiple-choice set (a file, or the pool of a side's files) as `lethe eval --benchmark mc` writes it. */
export const mcSetSchema = z.strictObject({
  side: z.enum(['forget', 'retain']),
  name: z.string().min(1),
  /** The file it was read from; absent for a pooled row. */
  file: z.string().optional(),
  /** True for the pool of all of a side's files. */
  pooled: z.boolean(),
  items: nonNegative,
  /** Mean over items of 1/(number of options). */
  chance: finite.nullable(),
  acc: mcAccuracySchema,
  accNorm: mcAccuracySchema,
  accBytes: mcAccuracySchema,
  /** Items one of whose options was tokenised unlike the harness would. */
  tokenisationMismatches: nonNegative,
});

export const resultsSchema = z.strictObject({
  schema: z.literal(RESULTS_SCHEMA),
  model: z.strictObject({ name: z.string().min(1), path: z.string().optional() }),
  role: z.enum(['target', 'retain', 'unlearned', 'baseline']).optional(),
  method: z.strictObject({ name: z.string().min(1), options: z.record(z.string(), z.unknown()) }).optional(),
  /** Which benchmark and split; further keys (retainSplit, holdoutSplit, …) are kept. */
  benchmark: z.looseObject({ name: z.enum(['tofu', 'muse', 'text', 'mc', 'qa']), forgetSplit: z.string().optional() }),
  /** family (tofu, muse, mia, memorisation, …) → metric name → value. */
  metrics: z.record(z.string(), z.record(z.string(), metricValueSchema)),
  /** Multiple-choice sets (`--benchmark mc`): each file and each side's pool; absent in other results. */
  multipleChoice: z.strictObject({
    style: z.string().min(1),
    numFewshot: nonNegative,
    template: z.string().min(1),
    sets: z.array(mcSetSchema),
  }).optional(),
  /** attack name (relearn, quantize_4bit, prompts.paraphrase, …) → before/after. */
  attacks: z.record(z.string(), attackResultSchema).optional(),
  efficiency: z.strictObject({
    wallSeconds: nonNegative,
    tokens: nonNegative,
    /** Estimate: 6·N per trained token, 2·N per scored token. */
    flops: nonNegative,
    peakRssMiB: nonNegative,
  }),
  /** What was evaluated (content hashes), for comparisons between results. */
  evaluated: evaluatedSchema.optional(),
  /** Sets that share items, evaluated anyway (--allow-overlap); the metrics they invalidate are unavailable. */
  overlap: z.array(overlapSchema).optional(),
  /** Set role → items longer than the context and what was done with them. */
  overlong: z.record(z.string(), overlongSchema).optional(),
  /** Things the reader must know about these numbers (a reference whose role is not retain, …). */
  warnings: z.array(z.string().min(1)).optional(),
  createdAt: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 date-time' }),
  /** The lethe version that wrote the file. */
  lethe: z.string().min(1),
});

export type MetricValue = z.infer<typeof metricValueSchema>;
export type OverlapRecord = z.infer<typeof overlapSchema>;
export type OverlongRecord = z.infer<typeof overlongSchema>;
export type Evaluated = z.infer<typeof evaluatedSchema>;
export type AttackResult = z.infer<typeof attackResultSchema>;
export type Results = z.infer<typeof resultsSchema>;
export type McSetRecord = z.infer<typeof mcSetSchema>;
export type Role = NonNullable<Results['role']>;
export type BenchmarkName = Results['benchmark']['name'];

/** Validates parsed JSON as results; `file` names it in errors, with the path of each bad field. */
export function parseResults(json: unknown, file: string): Results {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new LetheError(`${file}: expected a JSON object`);
  }
  const version = (json as { schema?: unknown }).schema;
  if (version !== RESULTS_SCHEMA) {
    const got = version === undefined ? 'missing' : JSON.stringify(version);
    throw new LetheError(`${file}: schema: expected "${RESULTS_SCHEMA}", got ${got}`);
  }
  const result = resultsSchema.safeParse(json, {
    error: (issue) => (issue.input === undefined && issue.code === 'invalid_type' ? 'missing (required)' : undefined),
  });
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((i) => `${fieldPath(i.path)}: ${i.message}`);
  const more = result.error.issues.length > 5 ? `; and ${result.error.issues.length - 5} more` : '';
  throw new LetheError(`${file}: ${problems.join('; ')}${more}`);
}

/** Reads and validates a `results.json`. */
export async function readResults(path: string): Promise<Results> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LetheError(code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read the file (${code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LetheError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseResults(json, path);
}

/** `metrics.tofu.forgetQuality.perItem[3]`. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(top level)';
}
