/**
 * Sweeps: a grid or random search over methods × options × loop settings × seeds, run in this
 * process or across machines on BullMQ, recorded in DIR/sweep.json. The trial itself (unlearn →
 * evaluate → attack) is an injected TrialRunner; see trial-runner.ts for its contract.
 *
 *   const sweep = await expandSweep(readSweepSpec('sweep.yaml'), { resolve });
 *   const file = await runSweep({ sweep, outDir: 'runs/sweep', runner });                 // in-process
 *   const file = await runSweep({ sweep, outDir, queue: { url: 'redis://host:6379' } }); // coordinator
 *   await runWorker({ queue: { url }, runner, workDir: 'runs/worker', signal });          // each machine
 *
 * How results travel: through Redis. A worker returns the trial's outcome (headline metrics,
 * target metrics, details: a few KB of JSON) as the BullMQ job's return value; the coordinator
 * copies it into sweep.json and DIR/trials/<id>/{config,result}.json. The trial's folder (its
 * checkpoints, log and unlearned model) stays on the worker, at WORKDIR/trials/<id>/, named in
 * sweep.json (worker, workerDir); no shared file system is needed. Workers that do share
 * WORKDIR (NFS) also resume each other's interrupted trials from their checkpoints.
 *
 * Wiring:
 * - the real runner: realTrialRunner (real-runner.ts: unlearn → evaluate → attack in the trial's
 *   folder; the target and the retain reference evaluated once per content hash, in the sweep
 *   folder); resolveTrialConfig is expandSweep's `resolve` (the unlearn command's defaults, RMU's
 *   layer −1 → the middle block, LoRA defaults), so that ids hash what runs;
 * - `lethe sweep SWEEP.yaml --out DIR [--queue redis://HOST:PORT]`: runSweepFile (below), progress
 *   lines from formatProgress, SIGINT/SIGTERM → abort (in-process: the trial stops at its next
 *   step and resumes from its checkpoint next time; coordinator: stops watching, trials stay
 *   queued); src/cli/commands/sweep.ts;
 * - `lethe worker --queue redis://HOST:PORT [--work-dir D]`: runWorker with realTrialRunner;
 *   SIGINT/SIGTERM → abort (the current trial goes back to the queue);
 * - `lethe report DIR` when DIR/sweep.json exists: writeSweepReport (sweep-report.ts).
 */
import { expandSweep, type ExpandedSweep } from './expand.ts';
import { realTrialRunner, resolveTrialConfig, type RealRunnerOptions } from './real-runner.ts';
import { readSweepSpec } from './sweep-schema.ts';
import type { SweepProgress } from './progress.ts';
import { runSweepQueued, type QueuedSweepOptions } from './queue-coordinator.ts';
import { runSweepLocal } from './run-local.ts';
import type { SweepFile } from './sweep-file.ts';
import type { InputResolver, TrialRunner } from './trial-runner.ts';
import { LetheError } from '../../engine/errors.ts';

export { canonicalJson, hashJson, hashPath, HashCache } from './content-hash.ts';
export { expandSweep, trialId, settingIdOf, trialInputs, type ExpandedSweep, type ExpandOptions, type InputRef, type Trial, type TrialConfig } from './expand.ts';
export { formatProgress, sweepProgress, type SweepProgress } from './progress.ts';
export { connectionFromUrl, DEFAULT_QUEUE_NAME, type QueueAddress, type TrialJobData, type TrialJobResult } from './queue-connection.ts';
export { runSweepQueued, type QueuedSweepOptions } from './queue-coordinator.ts';
export { runWorker, type WorkerEvent, type WorkerOptions } from './queue-worker.ts';
export { runSweepLocal, runTrialInFolder, trialDir, TRIAL_CONFIG_FILE, TRIAL_RESULT_FILE, type LocalSweepOptions } from './run-local.ts';
export { parseSweepFile, readSweepFile, SWEEP_FILE, SWEEP_SCHEMA, sweepFileSchema, writeSweepFile, type SweepFile, type TrialEntry, type TrialStatus } from './sweep-file.ts';
export { DEFAULT_SELECTION, LOOP_SETTINGS, parseSweepSpec, readSweepSpec, sweepSpecSchema, type Scalar, type SelectionRule, type SweepSpec } from './sweep-schema.ts';
export { realTrialRunner, resolveTrialConfig, type RealRunnerOptions } from './real-runner.ts';
export { isSweepFolder, writeSweepReport } from './sweep-report.ts';
export { headlineMetricSchema, samePath, trialOutcomeSchema, type HeadlineMetric, type InputResolver, type TrialContext, type TrialOutcome, type TrialRunner } from './trial-runner.ts';

export interface SweepOptions {
  sweep: ExpandedSweep;
  /** DIR: sweep.json and trials/<id>/. */
  outDir: string;
  /** Runs the trials in this process (required without `queue`). */
  runner?: TrialRunner;
  /** Puts the trials on BullMQ instead; `lethe worker` processes run them. */
  queue?: QueuedSweepOptions['queue'];
  /** Coordinator settings (attempts, maxRefusals, refusalDelayMs, pollMs). */
  queueOptions?: Omit<QueuedSweepOptions, 'sweep' | 'outDir' | 'queue' | 'signal' | 'onProgress'>;
  resolveInput?: InputResolver;
  signal?: AbortSignal;
  onProgress?: (progress: SweepProgress, file: SweepFile) => void;
}

/**
 * `lethe sweep`: runs or continues the sweep in `outDir`, in this process or (with `queue`) as
 * the coordinator of BullMQ workers. Returns the final sweep file (also in DIR/sweep.json).
 * Throws LetheError when `outDir` holds another sweep or neither runner nor queue is given.
 */
export async function runSweep(opts: SweepOptions): Promise<SweepFile> {
  if (opts.queue) return runSweepQueued({ ...opts.queueOptions, sweep: opts.sweep, outDir: opts.outDir, queue: opts.queue, signal: opts.signal, onProgress: opts.onProgress });
  if (!opts.runner) throw new LetheError('runSweep: give a trial runner (in-process) or a queue (distributed)');
  return runSweepLocal({ sweep: opts.sweep, outDir: opts.outDir, runner: opts.runner, resolveInput: opts.resolveInput, signal: opts.signal, onProgress: opts.onProgress });
}

export interface SweepFileOptions {
  /** The sweep file (YAML or JSON; sweep-schema.ts). */
  file: string;
  /** DIR: sweep.json and trials/<id>/. */
  outDir: string;
  /** Put the trials on BullMQ for `lethe worker` processes instead of running them here. */
  queue?: QueuedSweepOptions['queue'];
  /** Settings of the in-process real runner (checkpoint interval, progress display). */
  runner?: RealRunnerOptions;
  signal?: AbortSignal;
  onProgress?: (progress: SweepProgress, file: SweepFile) => void;
}

/**
 * `lethe sweep SWEEP.yaml --out DIR [--queue URL]`: reads and validates the sweep file, expands it
 * with every trial resolved as `lethe unlearn` would run it (resolveTrialConfig: ids hash what
 * runs), and runs it with lethe's real trial runner in this process, or as the coordinator of a
 * queue. Returns the final sweep file (also DIR/sweep.json). Throws LetheError for a bad sweep
 * file (one line naming the file and field), a bad trial, or a DIR holding another sweep.
 */
export async function runSweepFile(opts: SweepFileOptions): Promise<SweepFile> {
  const spec = readSweepSpec(opts.file);
  // A trial's bad value is found while resolving it: its one line names the sweep file too.
  const sweep = await expandSweep(spec, { resolve: resolveTrialConfig }).catch((err: unknown) => {
    if (err instanceof LetheError && !err.message.startsWith(opts.file)) throw new LetheError(`${opts.file}: ${err.message}`, err.exitCode);
    throw err;
  });
  return runSweep({ sweep, outDir: opts.outDir, ...(opts.queue ? { queue: opts.queue } : { runner: realTrialRunner(opts.runner) }), signal: opts.signal, onProgress: opts.onProgress });
}
