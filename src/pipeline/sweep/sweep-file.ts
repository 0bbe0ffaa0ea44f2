/**
 * `DIR/sweep.json`, versioned `lethe.sweep/1`: every trial of a sweep with its resolved config,
 * status, headline metrics (value + interval, or unavailable with the reason), the target's values
 * when the runner gave them, timings and, for queued trials, which worker ran it and where its
 * folder is. Written atomically (temp name with a random suffix, then rename) by the one process
 * that owns the sweep (the in-process runner or the coordinator); `lethe report DIR` reads it.
 *
 * Status: pending (not started), running (started; a restart resumes it), done, failed (with
 * `error`; a restart tries it again).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LetheError } from '../../engine/errors.ts';
import { writeFileAtomic } from '../../models/formats/write-file-atomic.ts';
import type { ExpandedSweep, Trial } from './expand.ts';
import { selectionSchema } from './sweep-schema.ts';
import { headlineMetricSchema, type TrialOutcome } from './trial-runner.ts';

export const SWEEP_SCHEMA = 'lethe.sweep/1';

const scalar = z.union([z.number(), z.string(), z.boolean()]);
const inputRef = z.strictObject({ path: z.string(), hash: z.string() });
const iso = z.iso.datetime({ offset: true, message: 'expected an ISO 8601 date-time' });

export const trialConfigSchema = z.strictObject({
  model: inputRef,
  data: z.strictObject({
    forget: inputRef.optional(),
    retain: inputRef.optional(),
    eval: inputRef.optional(),
    tofuForget: z.string().optional(),
    tofuRetain: z.string().optional(),
    tofuAuthors: z.number().optional(),
    forgetAuthors: z.number().optional(),
  }),
  retainReference: inputRef.optional(),
  method: z.string(),
  options: z.record(z.string(), scalar),
  loop: z.record(z.string(), scalar),
  scope: z.record(z.string(), scalar).optional(),
  seed: z.number().int(),
  evaluations: z.array(z.string()),
  attacks: z.array(z.string()),
  evaluation: z.strictObject({ maxNewTokens: z.number().int().nonnegative().optional(), limit: z.number().int().positive().optional(), batchSize: z.number().int().positive().optional() }).optional(),
  keepModel: z.boolean(),
});

export const trialEntrySchema = z.strictObject({
  id: z.string().min(1),
  settingId: z.string().min(1),
  method: z.string().min(1),
  seed: z.number().int(),
  params: z.record(z.string(), scalar),
  config: trialConfigSchema,
  status: z.enum(['pending', 'running', 'done', 'failed']),
  metrics: z.record(z.string(), headlineMetricSchema).optional(),
  targetMetrics: z.record(z.string(), headlineMetricSchema).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
  /** Attempts started (a resumed or retried trial counts each). */
  attempts: z.number().int().nonnegative(),
  timings: z.strictObject({
    startedAt: iso.optional(),
    finishedAt: iso.optional(),
    /** Wall time of the attempt that finished it. */
    seconds: z.number().nonnegative().optional(),
  }),
  /** For queued trials: the worker that ran it (host:pid) and its trial folder there. */
  worker: z.string().optional(),
  workerDir: z.string().optional(),
});

export const sweepFileSchema = z.strictObject({
  schema: z.literal(SWEEP_SCHEMA),
  name: z.string(),
  sweepId: z.string(),
  selection: selectionSchema,
  createdAt: iso,
  updatedAt: iso,
  trials: z.array(trialEntrySchema),
});

export type TrialEntry = z.infer<typeof trialEntrySchema>;
export type SweepFile = z.infer<typeof sweepFileSchema>;
export type TrialStatus = TrialEntry['status'];

export const SWEEP_FILE = 'sweep.json';

export function pendingEntry(trial: Trial): TrialEntry {
  return { id: trial.id, settingId: trial.settingId, method: trial.method, seed: trial.seed, params: trial.params, config: trial.config, status: 'pending', attempts: 0, timings: {} };
}

/** A new sweep file for `sweep`, every trial pending. */
export function newSweepFile(sweep: ExpandedSweep, now = new Date()): SweepFile {
  const at = now.toISOString();
  return { schema: SWEEP_SCHEMA, name: sweep.name, sweepId: sweep.sweepId, selection: sweep.selection, createdAt: at, updatedAt: at, trials: sweep.trials.map(pendingEntry) };
}

/** `trials[3].metrics.forgetQuality.value` */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(top level)';
}

/** Validates parsed JSON as a sweep file; errors name `file` and the first bad field. */
export function parseSweepFile(json: unknown, file: string): SweepFile {
  const version = (json as { schema?: unknown } | null)?.schema;
  if (typeof json !== 'object' || json === null) throw new LetheError(`${file}: expected a JSON object`);
  if (version !== SWEEP_SCHEMA) throw new LetheError(`${file}: schema: expected "${SWEEP_SCHEMA}", got ${version === undefined ? 'missing' : JSON.stringify(version)}`);
  const result = sweepFileSchema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new LetheError(`${file}: ${fieldPath(issue.path)}: ${issue.message}`);
}

/** Reads `path` (a sweep.json), or null when it does not exist. */
export async function readSweepFile(path: string): Promise<SweepFile | null> {
  if (!existsSync(path)) return null;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new LetheError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseSweepFile(json, path);
}

/** Validates and writes `file` atomically (sets updatedAt). */
export async function writeSweepFile(path: string, file: SweepFile, now = new Date()): Promise<void> {
  const out = { ...file, updatedAt: now.toISOString() };
  sweepFileSchema.parse(out);
  await writeFileAtomic(path, JSON.stringify(out, null, 1) + '\n');
}

/**
 * The sweep file to continue: the saved one when it holds the same sweep (same trial ids), else a
 * new one. A folder holding a different sweep is refused (its trials would be mixed in).
 */
export function continueSweepFile(saved: SweepFile | null, sweep: ExpandedSweep, path: string): SweepFile {
  if (!saved) return newSweepFile(sweep);
  if (saved.sweepId !== sweep.sweepId) {
    throw new LetheError(`${path}: holds another sweep (${saved.name}, ${saved.trials.length} trials, id ${saved.sweepId}); choose a new --out or remove it`);
  }
  // The name, the selection rule and keepModel change no result: the sweep file's current ones apply.
  const current = new Map(sweep.trials.map((t) => [t.id, t]));
  const trials = saved.trials.map((t) => ({ ...t, config: current.get(t.id)?.config ?? t.config }));
  return { ...saved, name: sweep.name, selection: sweep.selection, trials };
}

/** Counts by status. */
export function statusCounts(file: SweepFile): Record<TrialStatus, number> {
  const counts: Record<TrialStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
  for (const t of file.trials) counts[t.status]++;
  return counts;
}

function entry(file: SweepFile, id: string): TrialEntry {
  const t = file.trials.find((x) => x.id === id);
  if (!t) throw new Error(`trial ${id} is not in sweep ${file.sweepId}`);
  return t;
}

/** Marks a trial started (a finished trial is left alone). Returns whether anything changed. */
export function recordStart(file: SweepFile, id: string, at: Date, worker?: { id: string; dir: string }): boolean {
  const t = entry(file, id);
  if (t.status === 'done') return false;
  t.status = 'running';
  t.attempts++;
  t.timings = { startedAt: at.toISOString() };
  delete t.error;
  if (worker) Object.assign(t, { worker: worker.id, workerDir: worker.dir });
  return true;
}

export interface FinishedTrial {
  outcome: TrialOutcome;
  startedAt: Date;
  finishedAt: Date;
  worker?: { id: string; dir: string };
}

/**
 * Records a finished trial. Idempotent by trial id: the first result recorded wins and any later
 * one (a queued trial that a second worker also finished) is ignored, so no trial counts twice.
 * Returns whether it was recorded.
 */
export function recordDone(file: SweepFile, id: string, done: FinishedTrial): boolean {
  const t = entry(file, id);
  if (t.status === 'done') return false;
  t.status = 'done';
  t.metrics = done.outcome.metrics;
  if (done.outcome.targetMetrics) t.targetMetrics = done.outcome.targetMetrics;
  else delete t.targetMetrics;
  if (done.outcome.details) t.details = done.outcome.details;
  delete t.error;
  t.timings = { startedAt: done.startedAt.toISOString(), finishedAt: done.finishedAt.toISOString(), seconds: Math.max(0, (done.finishedAt.getTime() - done.startedAt.getTime()) / 1000) };
  if (done.worker) Object.assign(t, { worker: done.worker.id, workerDir: done.worker.dir });
  return true;
}

/** Records a failed trial with the reason (a finished trial is left alone). */
export function recordFailed(file: SweepFile, id: string, error: string, at: Date): boolean {
  const t = entry(file, id);
  if (t.status === 'done' || (t.status === 'failed' && t.error === error)) return false;
  t.status = 'failed';
  t.error = error;
  t.timings = { ...t.timings, finishedAt: at.toISOString() };
  return true;
}
