// One run per folder. The lock is a file created exclusively ('wx', atomic on local file
// systems) in the run folder before anything else is written there; it names its holder (pid,
// host, start time). A second run finds it and stops with one line naming the holder. A lock
// whose process is gone (same host, pid not alive, or on Linux now a process that is not Node)
// is stale and taken over; it is moved aside under a random name first, so of two runs taking
// over at once only one wins.

import { closeSync, existsSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { LetheError } from '../engine/errors.ts';
import { tempPathFor } from './atomic-write.ts';

/** The lock file's name in a run folder. */
export const LOCK_FILE = '.lethe-lock';

/** Who holds a run folder. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO 8601, UTC. */
  started: string;
  command: string;
}

/** A held run-folder lock. */
export interface RunLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock if it is still this process's (also done when the process exits). */
  release(): void;
}

const held = new Map<string, RunLock>();

/**
 * The pid a user knows this run by: the `lethe` command's, which on Linux runs the work in a child
 * process (bin/lethe.js sets globalThis.letheCommandPid there); signals sent to either reach the run.
 */
export function commandPid(): number {
  const launcher = (globalThis as { letheCommandPid?: unknown }).letheCommandPid;
  return typeof launcher === 'number' && Number.isInteger(launcher) && launcher > 0 ? launcher : process.pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: exists, another user's
  }
  // A recycled pid: on Linux, a live process that is not Node is not a lethe run.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('node');
  } catch {
    return true; // no /proc: trust the pid
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || !Number.isInteger(h.pid) || h.pid <= 0) return null;
    return { pid: h.pid, host: String(h.host ?? ''), started: String(h.started ?? '?'), command: String(h.command ?? 'lethe') };
  } catch {
    return null; // unreadable or half-written: treated as stale
  }
}

const sameHolder = (a: LockHolder | null, b: LockHolder | null) => a !== null && b !== null && a.pid === b.pid && a.host === b.host && a.started === b.started;

/** Creates the lock file exclusively; false when one exists. */
function tryCreate(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new LetheError(`${path}: cannot create the run lock (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * mkdir -p one component at a time from the deepest existing ancestor: Node's recursive mkdir
 * loops forever under some pseudo file systems (/proc), where a plain mkdir fails at once.
 */
async function mkdirEach(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(dir);
  while (!existsSync(at)) {
    missing.unshift(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  if (missing.length === 0 && !statSync(at).isDirectory()) throw Object.assign(new Error(`${at}: not a folder`), { code: 'EEXIST' });
  for (const d of missing) {
    try {
      await mkdir(d);
    } catch (err) {
      // Another run created it between the check and here (two runs racing for one new --out):
      // a folder is what was wanted; the lock decides who runs.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statSync(d).isDirectory()) continue;
      throw err;
    }
  }
}

/**
 * Takes the lock of run folder `dir` (created if missing) for `command`. Re-entrant within one
 * process. Throws LetheError (exit 2) naming the holder when another live process has it.
 */
export async function lockRunFolder(dir: string, command = 'lethe', flag = '--out'): Promise<RunLock> {
  try {
    await mkdirEach(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The common causes in words: a file where the folder (or one of its parents) should be, no permission, a full disk.
    const why: Record<string, string> = {
      EEXIST: 'a file of that name exists; a run writes a folder',
      ENOTDIR: 'a part of the path is a file, not a folder',
      EACCES: 'permission denied',
      EROFS: 'the file system is read-only',
      ENOSPC: 'no space left on the device',
    };
    throw new LetheError(`${flag} ${dir}: cannot create the folder (${(code && why[code]) ?? code ?? (err as Error).message}); choose another ${flag}`);
  }
  const path = join(dir, LOCK_FILE);
  const mine = held.get(path);
  if (mine && sameHolder(readHolder(path), mine.holder)) return mine;
  const holder: LockHolder = { pid: commandPid(), host: hostname(), started: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, holder)) {
      const lock: RunLock = {
        path,
        holder,
        release() {
          if (held.get(path) !== lock) return;
          held.delete(path);
          if (sameHolder(readHolder(path), holder)) rmSync(path, { force: true });
        },
      };
      held.set(path, lock);
      return lock;
    }
    const other = readHolder(path);
    if (other && other.pid === holder.pid && other.host === holder.host) {
      // this process's own lock from an earlier command in the same process
      rmSync(path, { force: true });
      continue;
    }
    if (other && (other.host !== holder.host || alive(other.pid))) {
      const where = other.host !== holder.host ? ` on ${other.host}` : '';
      throw new LetheError(`${flag} ${dir}: another run is using this folder (${other.command}, pid ${other.pid}${where}, started ${other.started}); wait for it to finish or choose another ${flag}`);
    }
    // Stale: move it aside; if what was moved is not the stale lock we read (another run took
    // over in between), put it back and try again.
    const aside = tempPathFor(path);
    try {
      renameSync(path, aside);
    } catch {
      continue; // someone else moved it
    }
    const moved = readHolder(aside);
    if (moved !== null && !sameHolder(moved, other) && (moved.host !== holder.host || alive(moved.pid))) {
      try {
        linkSync(aside, path);
      } catch {
        // a third run made a lock meanwhile; theirs stands
      }
    }
    rmSync(aside, { force: true });
  }
  throw new LetheError(`${flag} ${dir}: could not take the run lock ${path} (other runs keep taking it)`);
}

process.on('exit', () => {
  for (const lock of [...held.values()]) {
    try {
      lock.release();
    } catch {
      // exiting anyway
    }
  }
});
