// One process owns a sweep folder at a time: two `lethe sweep` runs on one DIR would run the
// same trials twice and overwrite each other's sweep.json. The owner writes DIR/.sweep.lock
// (host and pid) with the exclusive-create flag; a lock left by a process that no longer runs on
// this host (kill -9) is taken over.

import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../engine/errors.ts';

export const LOCK_FILE = '.sweep.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes DIR's lock; returns its release. LetheError when another live process holds it. */
export async function lockSweepFolder(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const me = { host: hostname(), pid: process.pid };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, JSON.stringify(me), { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new LetheError(`${path}: cannot create the sweep's lock (${(err as NodeJS.ErrnoException).code})`);
    }
    let owner: { host?: string; pid?: number } = {};
    try {
      owner = JSON.parse(await readFile(path, 'utf8')) as typeof owner;
    } catch {
      // unreadable or half-written: treated as stale
    }
    const stale = owner.host === me.host && typeof owner.pid === 'number' && !alive(owner.pid);
    if (!stale && owner.host !== undefined) {
      throw new LetheError(`${dir}: the sweep is being run by process ${owner.pid} on ${owner.host} (${LOCK_FILE}); wait for it, or remove the file if that process is gone`);
    }
    await rm(path, { force: true });
  }
  throw new LetheError(`${path}: could not take the sweep's lock`);
}
