/**
 * A sweep worker (`lethe worker --queue redis://HOST:PORT`): takes one trial at a time from
 * BullMQ, checks that its copies of the trial's inputs have the content hashes the coordinator
 * computed, runs the trial in `WORKDIR/trials/<id>/` with the injected runner, and returns the
 * outcome as the job's return value (results travel through Redis; the trial folder, with the
 * unlearned model, stays on this machine and its path is reported).
 *
 * - Refusal: a worker whose copy of an input differs (or is missing) refuses with one line saying
 *   which input, both hashes and the worker; the refusal is appended to the job's data and the job
 *   is moved to delayed for `refusalDelayMs`, then offered to every worker again (BullMQ has no
 *   per-worker routing). The `maxRefusals`-th refusal fails the trial (UnrecoverableError) with
 *   the reasons, so a trial no worker can run does not circulate forever. Refusals do not use up
 *   the job's attempts.
 * - A worker killed mid-trial stops renewing the job's lock; after `lockDuration` BullMQ's
 *   stalled-job check (every `stalledInterval`, in any worker) puts the job back in the queue and
 *   another worker runs it (from its own folder; from the checkpoint when the folder is shared).
 *   A job that stalls more than `maxStalledCount` times fails.
 * - A LetheError from the runner (bad input) fails the trial at once; other errors use up one of
 *   the job's attempts and it is retried.
 * - Aborting `signal` stops the current trial's runner and puts its job back in the queue
 *   untouched (no attempt used), then closes the worker.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { LetheError } from '../../engine/errors.ts';
import { HashCache } from './content-hash.ts';
import { trialInputs } from './expand.ts';
import { checkReachable, connectionFromUrl, DEFAULT_QUEUE_NAME, type QueueAddress, type Refusal, type TrialJobData, type TrialJobProgress, type TrialJobResult } from './queue-connection.ts';
import { failureMessage, runTrialInFolder, TRIAL_CONFIG_FILE, trialDir } from './run-local.ts';
import { samePath, type InputResolver, type TrialRunner } from './trial-runner.ts';

export type WorkerEvent =
  | { kind: 'start'; trialId: string; resume: boolean }
  | { kind: 'done'; trialId: string; seconds: number }
  | { kind: 'refused'; trialId: string; reason: string }
  | { kind: 'failed'; trialId: string; reason: string }
  | { kind: 'released'; trialId: string };

export interface WorkerOptions {
  queue: QueueAddress;
  runner: TrialRunner;
  /** This worker's folder; trial folders go to WORKDIR/trials/<id>/. */
  workDir: string;
  /** Shown in refusals and sweep.json (default host:pid). */
  workerId?: string;
  /** This machine's path of each input (default: the coordinator's path). */
  resolveInput?: InputResolver;
  /** Content hash of a local input (default: SHA-256, cached by path, size and mtime). */
  hash?: (path: string) => Promise<string>;
  /**
   * BullMQ lock of the running job (ms, default 60000), renewed every lockDuration/2 while the
   * event loop is free; a runner must not block it longer than that, or its trial is taken for
   * stalled and handed to another worker. A killed worker's trial waits this long before it is.
   */
  lockDuration?: number;
  /** How often this worker looks for stalled jobs (ms, default 30000). */
  stalledInterval?: number;
  /** Stalls after which a job fails instead of going back to the queue (default 2). */
  maxStalledCount?: number;
  signal?: AbortSignal;
  onEvent?: (event: WorkerEvent) => void;
}

/** Checks the trial's inputs against this worker's copies; the refusal line, or null when all match. */
async function checkInputs(data: TrialJobData, workerId: string, resolveInput: InputResolver, hash: (p: string) => Promise<string>): Promise<{ inputs: Record<string, string> } | { refusal: string }> {
  const inputs: Record<string, string> = {};
  for (const [role, ref] of Object.entries(trialInputs(data.trial.config))) {
    const local = resolveInput(role, ref);
    let have: string;
    try {
      have = await hash(local);
    } catch (err) {
      return { refusal: `worker ${workerId} refuses trial ${data.trial.id}: its ${role} ${local} cannot be read (${failureMessage(err)})` };
    }
    if (have !== ref.hash) {
      return { refusal: `worker ${workerId} refuses trial ${data.trial.id}: its ${role} ${local} has content hash ${have.slice(0, 19)}…, the sweep's has ${ref.hash.slice(0, 19)}… (a different copy)` };
    }
    inputs[role] = local;
  }
  return { inputs };
}

/**
 * Runs a worker until `signal` aborts. Resolves after the worker has closed (its current trial
 * released back to the queue). Throws LetheError for a bad queue URL or when Redis cannot be reached.
 */
export async function runWorker(opts: WorkerOptions): Promise<void> {
  await checkReachable(opts.queue.url);
  const workerId = opts.workerId ?? `${hostname()}:${process.pid}`;
  const resolveInput = opts.resolveInput ?? samePath;
  const cache = new HashCache();
  const hash = opts.hash ?? ((p: string) => cache.hash(p));
  const w: WorkerState = { opts, workerId, stop: new AbortController(), emit: (e: WorkerEvent) => opts.onEvent?.(e) };

  const processor = async (job: TrialJob, token?: string): Promise<TrialJobResult> => {
    const checked = await checkInputs(job.data, workerId, resolveInput, hash);
    if ('refusal' in checked) return refuse(w, job, checked.refusal, token);
    return runClaimedTrial(w, job, checked.inputs, token);
  };

  const worker = new Worker<TrialJobData, TrialJobResult>(opts.queue.name ?? DEFAULT_QUEUE_NAME, processor, {
    connection: connectionFromUrl(opts.queue.url),
    concurrency: 1,
    lockDuration: opts.lockDuration ?? 60_000,
    stalledInterval: opts.stalledInterval ?? 30_000,
    maxStalledCount: opts.maxStalledCount ?? 2,
    autorun: true,
  });
  worker.on('error', () => {
    // Connection errors are retried by ioredis; BullMQ needs a listener or Node treats them as fatal.
  });
  await new Promise<void>((resolve) => {
    if (opts.signal?.aborted) resolve();
    opts.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  w.stop.abort();
  await worker.close();
}

type TrialJob = Job<TrialJobData, TrialJobResult>;

/** What a worker's job handlers share: its options and id, the stop of its shutdown, its event sink. */
interface WorkerState {
  opts: WorkerOptions;
  workerId: string;
  stop: AbortController;
  emit: (e: WorkerEvent) => void;
}

/** A refusal: appended to the job's data and the job offered again later, or failed for good after `maxRefusals`. Always throws. */
async function refuse({ workerId, emit }: WorkerState, job: TrialJob, reason: string, token: string | undefined): Promise<never> {
  const data = job.data;
  const refusals: Refusal[] = [...(data.refusals ?? []), { worker: workerId, reason }];
  emit({ kind: 'refused', trialId: data.trial.id, reason });
  if (refusals.length >= data.maxRefusals) {
    const distinct = [...new Set(refusals.map((r) => r.reason))];
    throw new UnrecoverableError(`refused ${refusals.length} times, no worker has the sweep's inputs: ${distinct.join('; ')}`);
  }
  await job.updateData({ ...data, refusals });
  await job.moveToDelayed(Date.now() + data.refusalDelayMs, token);
  throw new DelayedError();
}

/**
 * Runs a trial this worker has the inputs of, in its folder under the work folder; a shutdown hands
 * it back to the queue, a LetheError (bad input) fails it without further attempts.
 */
async function runClaimedTrial({ opts, workerId, stop, emit }: WorkerState, job: TrialJob, inputs: Record<string, string>, token: string | undefined): Promise<TrialJobResult> {
  const trial = job.data.trial;
  const dir = trialDir(opts.workDir, trial.id);
  const startedAt = new Date();
  await job.updateProgress({ worker: workerId, dir, startedAt: startedAt.toISOString() } satisfies TrialJobProgress);
  const trialAbort = new AbortController();
  const onStop = () => trialAbort.abort();
  stop.signal.addEventListener('abort', onStop);
  emit({ kind: 'start', trialId: trial.id, resume: existsSync(join(dir, TRIAL_CONFIG_FILE)) });
  try {
    const outcome = await runTrialInFolder(trial, dir, opts.runner, inputs, trialAbort.signal);
    const finishedAt = new Date();
    emit({ kind: 'done', trialId: trial.id, seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000 });
    return { outcome, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), worker: workerId, dir };
  } catch (err) {
    if (stop.signal.aborted) {
      // Shutting down: hand the trial back untouched (its folder keeps the checkpoints).
      await job.moveToWait(token);
      emit({ kind: 'released', trialId: trial.id });
      throw new WaitingError();
    }
    const reason = failureMessage(err);
    emit({ kind: 'failed', trialId: trial.id, reason });
    if (err instanceof LetheError) throw new UnrecoverableError(reason);
    throw err;
  } finally {
    stop.signal.removeEventListener('abort', onStop);
  }
}
