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

export const metricValueSchema = z
  .strictObject({
    value: finite.nullable(),
    /** Why `value` is null, shown to the reader. */
    unavailable: z.string().min(1).optional(),
    perItem: z.array(finite).optional(),
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

/** A bootstrap interval as results files hold it (src/eval/stats/bootstrap.ts), or why there is none. */
const intervalSchema = z.union([
  z.strictObject({ lower: finite, upper: finite, level: finite, method: z.string().min(1), resamples: nonNegative, seed: finite, note: z.string().optional() }),
  z.strictObject({ unavailable: z.string().min(1) }),
]);

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
  createdAt: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 date-time' }),
  /** The lethe version that wrote the file. */
  lethe: z.string().min(1),
});

export type MetricValue = z.infer<typeof metricValueSchema>;
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
