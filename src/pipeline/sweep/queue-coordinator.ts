/**
 * The sweep coordinator (`lethe sweep … --queue redis://HOST:PORT`): puts every unfinished trial
 * on BullMQ (job id = trial id, so adding it again is a no-op) and polls the jobs' states until
 * every trial is done or failed, recording each result in `DIR/sweep.json` from the job's return
 * value and writing `DIR/trials/<id>/config.json` and `result.json` (the unlearned model stays
 * in the worker's folder, named in sweep.json).
 *
 * Polling job states, rather than listening to events, is what makes the coordinator restartable:
 * stopped and started again it reads sweep.json, finds the jobs where they are (a finished job is
 * kept until its result is in sweep.json, then removed unless `keepJobs`) and ends with the same
 * sweep.json. Recording is idempotent
 * by trial id (see recordDone): a trial is counted once even if two workers finished it.
 * A trial that failed is put back in the queue when the coordinator starts again.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, type Job } from 'bullmq';
import { writeFileAtomic } from '../../models/formats/write-file-atomic.ts';
import type { ExpandedSweep } from './expand.ts';
import { sweepProgress, type SweepProgress } from './progress.ts';
import { checkReachable, connectionFromUrl, DEFAULT_QUEUE_NAME, type QueueAddress, type TrialJobData, type TrialJobProgress, type TrialJobResult } from './queue-connection.ts';
import { TRIAL_CONFIG_FILE, TRIAL_RESULT_FILE, trialDir } from './run-local.ts';
import { lockSweepFolder } from './sweep-lock.ts';
import { continueSweepFile, readSweepFile, recordDone, recordFailed, SWEEP_FILE, writeSweepFile, type SweepFile } from './sweep-file.ts';
import { trialOutcomeSchema } from './trial-runner.ts';

export interface QueuedSweepOptions {
  sweep: ExpandedSweep;
  outDir: string;
  queue: QueueAddress;
  /** Attempts of a trial whose runner fails with a non-LetheError, or whose worker dies (default 3). */
  attempts?: number;
  /** Refusals (workers without the right inputs) before a trial fails (default 5). */
  maxRefusals?: number;
  /** Wait before a refused trial is offered again (ms, default 2000). */
  refusalDelayMs?: number;
  /** How often job states are read (ms, default 1000). */
  pollMs?: number;
  /**
   * Keep finished jobs in Redis after their result is in sweep.json (default false: removed once
   * recorded and saved, so a long-lived Redis does not fill up; a restart reads sweep.json).
   */
  keepJobs?: boolean;
  /** Stops coordinating (the trials stay queued; start again to continue). */
  signal?: AbortSignal;
  onProgress?: (progress: SweepProgress, file: SweepFile) => void;
}

async function writeTrialFiles(outDir: string, file: SweepFile, id: string, result: TrialJobResult): Promise<void> {
  const t = file.trials.find((x) => x.id === id)!;
  const dir = trialDir(outDir, id);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, TRIAL_CONFIG_FILE), JSON.stringify({ id, ...t.config }, null, 1) + '\n');
  await writeFileAtomic(join(dir, TRIAL_RESULT_FILE), JSON.stringify({ ...result.outcome, worker: result.worker, workerDir: result.dir }, null, 1) + '\n');
}

/**
 * Runs (or continues) a sweep on BullMQ; returns the final sweep file (or the current one when
 * stopped). LetheError when DIR holds another sweep, another live process coordinates it, or
 * Redis cannot be reached.
 */
export async function runSweepQueued(opts: QueuedSweepOptions): Promise<SweepFile> {
  await mkdir(opts.outDir, { recursive: true });
  const unlock = await lockSweepFolder(opts.outDir);
  try {
    return await coordinate(opts);
  } finally {
    await unlock();
  }
}

type TrialQueue = Queue<TrialJobData, TrialJobResult>;
type TrialJob = Job<TrialJobData, TrialJobResult>;
type Enqueue = (trial: ExpandedSweep['trials'][number]) => Promise<unknown>;

async function coordinate(opts: QueuedSweepOptions): Promise<SweepFile> {
  const { sweep, outDir } = opts;
  const signal = opts.signal ?? new AbortController().signal;
  const pollMs = opts.pollMs ?? 1000;
  const path = join(outDir, SWEEP_FILE);
  await mkdir(join(outDir, 'trials'), { recursive: true });
  const file = continueSweepFile(await readSweepFile(path), sweep, path);
  await checkReachable(opts.queue.url);
  const queue: TrialQueue = new Queue<TrialJobData, TrialJobResult>(opts.queue.name ?? DEFAULT_QUEUE_NAME, { connection: connectionFromUrl(opts.queue.url) });
  queue.on('error', () => {
    // ioredis reconnects by itself; without a listener Node would treat the event as fatal.
  });
  const refusal = { maxRefusals: opts.maxRefusals ?? 5, refusalDelayMs: opts.refusalDelayMs ?? 2000 };
  const attempts = opts.attempts ?? 3;
  const enqueue: Enqueue = (trial) =>
    queue.add('trial', { sweepId: sweep.sweepId, trial, ...refusal, refusals: [] }, { jobId: trial.id, attempts, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false });
  try {
    await queueUnfinished(queue, file, sweep, enqueue, refusal);
    const save = () => writeSweepFile(path, file);
    await save();
    for (;;) {
      const { changed, recorded } = await pollTrials(queue, file, sweep, outDir, enqueue);
      if (changed) await save();
      // Only once sweep.json holds their results.
      if (!opts.keepJobs) for (const job of recorded) await job.remove().catch(() => undefined);
      opts.onProgress?.(sweepProgress(file), file);
      if (file.trials.every((t) => t.status === 'done' || t.status === 'failed') || signal.aborted) break;
      try {
        await sleep(pollMs, undefined, { signal });
      } catch {
        // aborted: one more pass records what finished meanwhile, then stop
      }
    }
    await save();
    return file;
  } finally {
    await queue.close();
  }
}

/** Queues what is not finished; failed trials (here or in the queue) get another go. */
async function queueUnfinished(queue: TrialQueue, file: SweepFile, sweep: ExpandedSweep, enqueue: Enqueue, refusal: { maxRefusals: number; refusalDelayMs: number }): Promise<void> {
  const byId = new Map(file.trials.map((t) => [t.id, t]));
  for (const trial of sweep.trials) {
    const entry = byId.get(trial.id)!;
    if (entry.status === 'done') continue;
    const job = await queue.getJob(trial.id);
    if (job && (await job.getState()) === 'failed') {
      // A new round: earlier refusals no longer count (the workers may have changed).
      await job.updateData({ ...job.data, ...refusal, refusals: [] });
      await job.retry('failed');
    }
    if (entry.status === 'failed') Object.assign(entry, { status: 'pending' as const, error: undefined });
    if (!job) await enqueue(trial);
  }
}

/** One pass over the unfinished trials' jobs: their states into the sweep file; returns whether it changed and the jobs whose results it now holds. */
async function pollTrials(queue: TrialQueue, file: SweepFile, sweep: ExpandedSweep, outDir: string, enqueue: Enqueue): Promise<{ changed: boolean; recorded: TrialJob[] }> {
  let changed = false;
  const recorded: TrialJob[] = [];
  for (const entry of file.trials) {
    if (entry.status === 'done' || entry.status === 'failed') continue;
    // The state first, then the job: a job read before it finished lacks its result.
    const state = await queue.getJobState(entry.id);
    const job: TrialJob | undefined = state === 'unknown' ? undefined : await queue.getJob(entry.id);
    if (!job) {
      // Removed from Redis behind our back: queue it again.
      await enqueue(sweep.trials.find((t) => t.id === entry.id)!);
      continue;
    }
    if (state === 'completed') {
      const r = await recordCompleted(file, entry, job, outDir);
      if (r === 'recorded') recorded.push(job);
      changed = r !== 'unchanged' || changed;
    } else if (state === 'failed') {
      changed = recordFailed(file, entry.id, job.failedReason || 'failed (no reason given)', new Date()) || changed;
    } else if (state === 'active') {
      changed = markRunning(entry, job) || changed;
    } else if (entry.status === 'running') {
      // Back in the queue (stalled, released or refused): waiting for a worker again.
      entry.status = 'pending';
      changed = true;
    }
  }
  return { changed, recorded };
}

/** A completed job's result into the sweep file and the trial's folder (once per trial id); a malformed result fails the trial. */
async function recordCompleted(file: SweepFile, entry: SweepFile['trials'][number], job: TrialJob, outDir: string): Promise<'recorded' | 'failed' | 'unchanged'> {
  const result = job.returnvalue;
  const outcome = trialOutcomeSchema.safeParse(result?.outcome);
  if (!outcome.success) return recordFailed(file, entry.id, `the worker returned a malformed result (${outcome.error.issues[0]?.message})`, new Date()) ? 'failed' : 'unchanged';
  const done = { outcome: outcome.data, startedAt: new Date(result.startedAt), finishedAt: new Date(result.finishedAt), worker: { id: result.worker, dir: result.dir } };
  if (!recordDone(file, entry.id, done)) return 'unchanged';
  entry.attempts = Math.max(entry.attempts, job.attemptsStarted ?? 1);
  await writeTrialFiles(outDir, file, entry.id, result);
  return 'recorded';
}

/** An active job's trial is running, on the worker its progress names; true when that changed the entry. */
function markRunning(entry: SweepFile['trials'][number], job: TrialJob): boolean {
  const p = job.progress as Partial<TrialJobProgress> | number;
  const worker = typeof p === 'object' && p.worker ? p.worker : undefined;
  if (entry.status === 'running' && entry.worker === worker) return false;
  Object.assign(entry, { status: 'running' as const, attempts: Math.max(entry.attempts, job.attemptsStarted ?? 1) });
  if (typeof p === 'object' && p.worker) Object.assign(entry, { worker: p.worker, workerDir: p.dir, timings: { startedAt: p.startedAt } });
  return true;
}
