/**
 * The embedded sweep runner: trials one after another in this process (each trial's runner uses
 * every core). `DIR/sweep.json` is rewritten (atomically) when a trial starts and when it ends,
 * so a run killed at any moment (kill -9) restarts where it was: finished trials are skipped, the
 * trial that was running is handed to the runner again with `resume: true` and its folder as it
 * was left (its checkpoints), failed trials are tried again.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LetheError } from '../../engine/errors.ts';
import { writeFileAtomic } from '../../models/formats/write-file-atomic.ts';
import { trialInputs, type ExpandedSweep, type Trial } from './expand.ts';
import { sweepProgress, type SweepProgress } from './progress.ts';
import { lockSweepFolder } from './sweep-lock.ts';
import { continueSweepFile, readSweepFile, recordDone, recordFailed, recordStart, SWEEP_FILE, writeSweepFile, type SweepFile } from './sweep-file.ts';
import { samePath, trialOutcomeSchema, type InputResolver, type TrialOutcome, type TrialRunner } from './trial-runner.ts';

export interface LocalSweepOptions {
  sweep: ExpandedSweep;
  /** The sweep folder: sweep.json and trials/<id>/. */
  outDir: string;
  runner: TrialRunner;
  /** This machine's path of each input (default: the path in the sweep file). */
  resolveInput?: InputResolver;
  /** Stops after the current trial's runner returns or aborts; the trial stays "running". */
  signal?: AbortSignal;
  onProgress?: (progress: SweepProgress, file: SweepFile) => void;
}

export const TRIAL_CONFIG_FILE = 'config.json';
export const TRIAL_RESULT_FILE = 'result.json';

export function trialDir(root: string, id: string): string {
  return join(root, 'trials', id);
}

/** The message recorded for a failed trial: a LetheError's line as is, anything else with its type. */
export function failureMessage(err: unknown): string {
  if (err instanceof LetheError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * Prepares a trial's folder and runs it: writes `config.json` (the trial's id and resolved
 * config) unless the folder is being resumed, calls the runner, validates and writes
 * `result.json`. Shared by the in-process runner and queue workers.
 */
export async function runTrialInFolder(trial: Trial, dir: string, runner: TrialRunner, inputs: Record<string, string>, signal: AbortSignal): Promise<TrialOutcome> {
  const resume = existsSync(join(dir, TRIAL_CONFIG_FILE));
  await mkdir(dir, { recursive: true });
  if (!resume) await writeFileAtomic(join(dir, TRIAL_CONFIG_FILE), JSON.stringify({ id: trial.id, ...trial.config }, null, 1) + '\n');
  const raw = await runner({ trial, dir, resume, inputs, signal });
  const parsed = trialOutcomeSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new LetheError(`trial ${trial.id}: the trial runner returned a bad outcome: ${i.path.join('.')}: ${i.message}`);
  }
  await writeFileAtomic(join(dir, TRIAL_RESULT_FILE), JSON.stringify(parsed.data, null, 1) + '\n');
  return parsed.data;
}

export function localInputs(trial: Trial, resolveInput: InputResolver): Record<string, string> {
  return Object.fromEntries(Object.entries(trialInputs(trial.config)).map(([role, ref]) => [role, resolveInput(role, ref)]));
}

/**
 * Runs (or continues) a sweep in this process; returns the final sweep file. LetheError when
 * DIR holds another sweep or another live process is running this one.
 */
export async function runSweepLocal(opts: LocalSweepOptions): Promise<SweepFile> {
  await mkdir(opts.outDir, { recursive: true });
  const unlock = await lockSweepFolder(opts.outDir);
  try {
    return await runLocal(opts);
  } finally {
    await unlock();
  }
}

async function runLocal(opts: LocalSweepOptions): Promise<SweepFile> {
  const { sweep, outDir, runner } = opts;
  const signal = opts.signal ?? new AbortController().signal;
  const resolveInput = opts.resolveInput ?? samePath;
  const path = join(outDir, SWEEP_FILE);
  await mkdir(join(outDir, 'trials'), { recursive: true });
  const file = continueSweepFile(await readSweepFile(path), sweep, path);
  const save = () => writeSweepFile(path, file);
  const report = () => opts.onProgress?.(sweepProgress(file), file);
  await save();
  report();
  for (const trial of sweep.trials) {
    if (signal.aborted) break;
    if (file.trials.find((t) => t.id === trial.id)!.status === 'done') continue;
    const startedAt = new Date();
    recordStart(file, trial.id, startedAt);
    await save();
    report();
    try {
      const outcome = await runTrialInFolder(trial, trialDir(outDir, trial.id), runner, localInputs(trial, resolveInput), signal);
      recordDone(file, trial.id, { outcome, startedAt, finishedAt: new Date() });
    } catch (err) {
      if (signal.aborted) break; // stays "running": the next start resumes it
      recordFailed(file, trial.id, failureMessage(err), new Date());
    }
    await save();
    report();
  }
  await save();
  return file;
}
