// Claiming a run folder (`--out` of train, unlearn, …) before a run writes there, in this
// order: nothing it writes may lie inside an input, nor any input inside what it replaces
// (paths.ts); the folder's lock (run-lock.ts); leftovers of killed writes removed; then the
// run manifest `.lethe-manifest.json`, the list of what lethe itself created in the folder.
// `--overwrite` removes only what that list names, and refuses when anything the new run would
// replace is not on it or when an input lies inside anything it would remove.

import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { rm } from 'node:fs/promises';
import { join, normalize, parse, sep } from 'node:path';
import { z } from 'zod';
import { LetheError } from '../engine/errors.ts';
import { removeStrayTemps, writeFileAtomic } from './atomic-write.ts';
import { checkWritesOutsideInputs, realPath, type ReadSource } from './paths.ts';
import { lockRunFolder, type RunLock } from './run-lock.ts';

/** The run manifest's name in a run folder: `{ "created": [relative paths lethe created] }`. */
export const MANIFEST_FILE = '.lethe-manifest.json';

const manifestSchema = z.object({ created: z.array(z.string()) });

/** The entries (relative paths) lethe created in `dir`; [] when it has no manifest or an unreadable one. */
export function readRunManifest(dir: string): string[] {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return [];
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data.created.filter(safeEntry) : [];
  } catch {
    return [];
  }
}

/** A relative path that stays inside its folder. */
const safeEntry = (e: string) => {
  const n = normalize(e);
  return n !== '' && n !== '.' && !n.startsWith('..') && !n.startsWith(sep) && !n.includes(`${sep}..${sep}`) && !n.endsWith(`${sep}..`);
};

/** True when `entry` or one of its ancestors is on the manifest. */
const covered = (entry: string, created: readonly string[]) => created.some((c) => entry === c || entry.startsWith(`${c}/`));

/** True when a folder on the way to `entry` (below `dir`) is a symbolic link. */
function underLink(dir: string, entry: string): boolean {
  const parts = entry.split('/');
  for (let i = 1; i < parts.length; i++) {
    try {
      if (lstatSync(join(dir, ...parts.slice(0, i))).isSymbolicLink()) return true;
    } catch {
      return false; // gone: nothing to remove through it
    }
  }
  return false;
}

/** The topmost part of `entry` that does not exist under `dir` yet (what writing it creates), or null. */
function createdBy(dir: string, entry: string): string | null {
  const parts = entry.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i).join('/');
    if (!existsSync(join(dir, sub))) return sub;
  }
  return null;
}

/** What a command about to write into a run folder tells claimRunFolder. */
export interface ClaimOptions {
  /** The flag that named the folder, for messages. */
  flag?: string;
  command: string;
  resume: boolean;
  overwrite: boolean;
  /** Everything the run writes, relative to the folder, '/'-separated (e.g. 'model', 'target/log.jsonl'). */
  writes: readonly string[];
  /** Entries whose presence means the folder already holds a run (e.g. 'checkpoints', 'log.jsonl'). */
  markers: readonly string[];
  /** Every model, data and config file the command reads. */
  inputs: readonly ReadSource[];
}

/** The outcome of claimRunFolder. */
export interface ClaimedRunFolder {
  lock: RunLock;
  /** Temporary files of killed writes that were removed. */
  removedTemps: string[];
  /** Entries removed by `overwrite`. */
  removed: string[];
}

/**
 * Claims run folder `dir`: containment, lock, stray temporaries, manifest, and `overwrite`.
 * Throws LetheError (exit 2) with one line naming the path for each refusal.
 */
export async function claimRunFolder(dir: string, o: ClaimOptions): Promise<ClaimedRunFolder> {
  const flag = o.flag ?? '--out';
  // A run's files spread over the filesystem root or a home folder are never what was meant.
  const real = realPath(dir);
  if (real === parse(real).root || real === realPath(homedir())) {
    throw new LetheError(`${flag} ${dir}: is ${real === parse(real).root ? 'the filesystem root' : 'your home folder'}; give a folder for this run (e.g. runs/NAME)`);
  }
  checkWritesOutsideInputs({ path: dir, flag, replaces: o.writes }, o.inputs);
  const lock = await lockRunFolder(dir, `lethe ${o.command}`, flag);
  const removedTemps = await removeStrayTemps(dir);
  let created = readRunManifest(dir);
  const removed: string[] = [];
  if (!o.resume) {
    const holdsRun = o.markers.some((m) => existsSync(join(dir, m)));
    if (holdsRun && !o.overwrite) {
      throw new LetheError(`${flag} ${dir}: already holds a run; add --resume to continue it or --overwrite to start over`);
    }
    const foreign = o.writes.filter((w) => existsSync(join(dir, w)) && !covered(w, created));
    if (foreign.length) {
      throw new LetheError(`${flag} ${dir}: ${join(dir, foreign[0])} exists and was not written by lethe (it is not on ${MANIFEST_FILE}); lethe replaces only its own files: move it away or choose another ${flag}`);
    }
    if (o.overwrite) {
      // What would be removed must not hold an input (a model given as OUT/checkpoints, …).
      checkWritesOutsideInputs({ path: dir, flag: '--overwrite', replaces: created }, o.inputs);
      for (const entry of created) {
        // Never through a link: an entry under a linked folder would remove what the link points at.
        if (underLink(dir, entry)) continue;
        await rm(join(dir, entry), { recursive: true, force: true });
        removed.push(entry);
      }
      created = [];
    }
  }
  const now = o.writes.map((w) => createdBy(dir, w)).filter((e): e is string => e !== null && !covered(e, created));
  if (now.length || !existsSync(join(dir, MANIFEST_FILE))) {
    await writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify({ created: [...created, ...new Set(now)] }, null, 2)}\n`);
  }
  return { lock, removedTemps, removed };
}
