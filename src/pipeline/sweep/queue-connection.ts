// What the coordinator and the workers share on BullMQ: the Redis connection from a
// `redis://HOST:PORT` URL, the queue name, and the job's data and return value.

import { createConnection } from 'node:net';
import type { ConnectionOptions } from 'bullmq';
import { LetheError } from '../../engine/errors.ts';
import type { Trial } from './expand.ts';
import type { TrialOutcome } from './trial-runner.ts';

/** The queue every sweep's trials go to unless told otherwise; job ids are trial ids (content hashes). */
export const DEFAULT_QUEUE_NAME = 'lethe-trials';

export interface QueueAddress {
  /** redis://[user:password@]HOST:PORT[/DB] (or rediss:// for TLS). */
  url: string;
  /** BullMQ queue name (default "lethe-trials"); coordinator and workers must agree. */
  name?: string;
}

/** ioredis options for BullMQ from the URL; `--queue` names the flag in the error. */
export function connectionFromUrl(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LetheError(`--queue: expected redis://HOST:PORT, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new LetheError(`--queue: expected redis://HOST:PORT, got ${JSON.stringify(url)} (scheme ${u.protocol})`);
  if (!u.hostname) throw new LetheError(`--queue: no host in ${JSON.stringify(url)}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new LetheError(`--queue: the database in ${JSON.stringify(url)} must be a number`);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ workers block on Redis; retrying forever is what they expect.
    maxRetriesPerRequest: null,
  };
}

/**
 * Fails fast with a LetheError when nothing answers at the queue's address (the Redis client
 * itself would retry forever, and the command would sit silent).
 */
export async function checkReachable(url: string, timeoutMs = 5000): Promise<void> {
  const c = connectionFromUrl(url) as { host: string; port: number };
  await new Promise<void>((resolve, reject) => {
    const socket = createConnection({ host: c.host, port: c.port });
    const fail = (why: string) => {
      socket.destroy();
      reject(new LetheError(`--queue ${url}: cannot reach Redis (${why})`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer in ${timeoutMs / 1000} s`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
  });
}

export interface Refusal {
  worker: string;
  reason: string;
}

/** A queued trial. */
export interface TrialJobData {
  sweepId: string;
  trial: Trial;
  /** After this many refusals (workers whose inputs differ) the trial fails with their reasons. */
  maxRefusals: number;
  /** How long a refused trial waits before it is offered again (ms). */
  refusalDelayMs: number;
  refusals: Refusal[];
}

/** What a worker returns for a finished trial (stored by BullMQ as the job's return value). */
export interface TrialJobResult {
  outcome: TrialOutcome;
  startedAt: string;
  finishedAt: string;
  /** host:pid of the worker, and its trial folder (the unlearned model stays there). */
  worker: string;
  dir: string;
}

/** Progress a worker reports when it starts a trial (BullMQ job progress). */
export interface TrialJobProgress {
  worker: string;
  dir: string;
  startedAt: string;
}
