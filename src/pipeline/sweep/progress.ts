// Progress of a sweep: trials done, running, failed, pending, and an ETA.

import { statusCounts, type SweepFile } from './sweep-file.ts';

export interface SweepProgress {
  total: number;
  done: number;
  running: number;
  failed: number;
  pending: number;
  /** The workers running a trial now (queued sweeps; empty in-process). */
  workers: string[];
  /**
   * Seconds until every trial has finished, or null before any trial has: the mean wall time of
   * the finished trials × the trials left (pending + running) / the trials running at once
   * (at least 1; the in-process runner runs one at a time).
   */
  etaSeconds: number | null;
}

export function sweepProgress(file: SweepFile, parallel = 1): SweepProgress {
  const c = statusCounts(file);
  const times = file.trials.filter((t) => t.status === 'done' && t.timings.seconds !== undefined).map((t) => t.timings.seconds!);
  const mean = times.length ? times.reduce((a, b) => a + b, 0) / times.length : null;
  const left = c.pending + c.running;
  const etaSeconds = mean === null ? null : (mean * left) / Math.max(1, parallel, c.running);
  const workers = [...new Set(file.trials.filter((t) => t.status === 'running' && t.worker).map((t) => t.worker!))].sort();
  return { total: file.trials.length, done: c.done, running: c.running, failed: c.failed, pending: c.pending, workers, etaSeconds };
}

/** "12/30 done, 2 running on 2 workers, 1 failed, 15 pending, ETA 14 min" */
export function formatProgress(p: SweepProgress): string {
  const eta = p.etaSeconds === null ? 'ETA unknown' : `ETA ${p.etaSeconds < 90 ? `${Math.round(p.etaSeconds)} s` : p.etaSeconds < 5400 ? `${Math.round(p.etaSeconds / 60)} min` : `${(p.etaSeconds / 3600).toFixed(1)} h`}`;
  const on = p.workers.length ? ` on ${p.workers.length} worker${p.workers.length === 1 ? '' : 's'}` : '';
  return `${p.done}/${p.total} done, ${p.running} running${on}, ${p.failed} failed, ${p.pending} pending, ${eta}`;
}
