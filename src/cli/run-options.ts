// The training options `lethe train` and `lethe unlearn` share (optimiser, schedule, batches,
// checkpoints), their schema fields, and how a resolved set becomes the library's RunOptions.

import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LetheError } from '../engine/errors.ts';
import { CONFIG_FILE, firstDifference, savedLayer, type Layer } from './config.ts';

export { SCHEDULES, OPTIMIZERS, trainingFields, resolveTraining, optimizerChoice, stepsPerEpoch, runOptions, type ResolvedTraining } from '../pipeline/options/training.ts';

/** The layers under the flags: the saved config of the run when resuming, then the config file. */
export function baseLayers(out: string | undefined, resume: boolean, file: Layer | null): Layer[] {
  const saved = resume && out ? savedLayer(out) : null;
  return [...(saved ? [saved] : []), ...(file ? [file] : [])];
}

/**
 * Before a run writes into `out`: a new run refuses a folder that already holds one (its
 * checkpoints would be mixed in) unless `overwrite`, which removes what lethe wrote there.
 */
export async function claimRunFolder(out: string, opts: { resume: boolean; overwrite: boolean; runDirs: string[] }): Promise<void> {
  if (opts.resume) return;
  const used = opts.runDirs.filter((d) => existsSync(join(d, 'checkpoints')) || existsSync(join(d, 'log.jsonl')));
  if (used.length === 0) return;
  if (!opts.overwrite) throw new LetheError(`--out ${out}: already holds a run; add --resume to continue it or --overwrite to start over`);
  for (const d of opts.runDirs) for (const name of ['checkpoints', 'log.jsonl', 'model']) await rm(join(d, name), { recursive: true, force: true });
}

/** A resumed run must ask for what the saved run did (its config.yaml). */
export function checkResumeMatches(out: string, resolved: object): void {
  const saved = savedLayer(out);
  if (!saved) return;
  const now = JSON.parse(JSON.stringify(resolved)) as Record<string, unknown>;
  const key = firstDifference(saved.values, now, ['resume', 'overwrite']);
  if (key === null) return;
  const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));
  throw new LetheError(`--resume: ${join(out, CONFIG_FILE)} has ${key}: ${show(saved.values[key])} but this run asks ${show(now[key])}; resume with the saved settings or choose a new --out`);
}

/** The last training line of a run's log.jsonl (losses of the final step), or null. */
export async function lastLogLine(runDir: string): Promise<Record<string, unknown> | null> {
  const path = join(runDir, 'log.jsonl');
  if (!existsSync(path)) return null;
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const line = JSON.parse(lines[i]) as Record<string, unknown>;
      if (typeof line.loss === 'number' || line.loss === null) return line;
    } catch {
      // a line cut by a killed run
    }
  }
  return null;
}
