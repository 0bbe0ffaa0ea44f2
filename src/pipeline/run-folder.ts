// A run folder before and after a run: the option layers a resumed run reads, claiming the
// folder (nothing written inside an input, its lock, no run overwritten unasked), the check that a
// resumed run asks for what the saved one did, and the last line of its log.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { LetheError } from '../engine/errors.ts';
import { claimRunFolder as claimFolder, type ReadSource } from '../io/index.ts';
import { CONFIG_FILE, firstDifference, savedLayer, type Layer } from './options/layers.ts';

/** The layers under the flags: the saved config of the run when resuming, then the config file. */
export function baseLayers(out: string | undefined, resume: boolean, file: Layer | null): Layer[] {
  const saved = resume && out ? savedLayer(out) : null;
  return [...(saved ? [saved] : []), ...(file ? [file] : [])];
}

/**
 * Before a run writes into `out` (src/io/run-folder.ts): nothing it writes inside an input,
 * the folder's lock, then a new run refuses a folder that already holds one unless
 * `overwrite`, which removes only what lethe's manifest says it wrote there.
 */
export async function claimRunFolder(out: string, opts: { resume: boolean; overwrite: boolean; runDirs: string[]; command?: string; inputs?: ReadSource[]; extra?: string[] }): Promise<void> {
  if (opts.resume && opts.overwrite) throw new LetheError('--resume and --overwrite: give one (--resume continues the run in --out, --overwrite replaces it)');
  const rel = (d: string) => relative(out, d).split(sep).filter((p) => p !== '').join('/');
  const under = (d: string, name: string) => (rel(d) ? `${rel(d)}/${name}` : name);
  const markers = opts.runDirs.flatMap((d) => [under(d, 'checkpoints'), under(d, 'log.jsonl')]);
  const writes = [CONFIG_FILE, ...(opts.extra ?? []), ...markers, ...opts.runDirs.map((d) => under(d, 'model'))];
  await claimFolder(out, { command: opts.command ?? 'run', resume: opts.resume, overwrite: opts.overwrite, writes, markers, inputs: opts.inputs ?? [] });
}

/** The files a command reads, from the path fields of its resolved options (for claimRunFolder). */
export function readSources(resolved: object, fields: readonly string[]): ReadSource[] {
  const values = resolved as Record<string, unknown>;
  const what = (f: string) => (f === 'model' ? 'the input model' : `the --${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} input`);
  // A path field holds one path, or several (a repeated flag such as --forget-mc).
  return fields.filter((f) => f !== 'out').flatMap((f) => (Array.isArray(values[f]) ? (values[f] as unknown[]) : [values[f]]).filter((p): p is string => typeof p === 'string' && p !== '').map((path) => ({ path, what: what(f) })));
}

/**
 * The notice for `--resume` on a folder that holds no run yet (no config.yaml): the run starts
 * anew (scripts use --resume as "start or continue"), but a mistyped --out should not pass
 * silently. Call before the run writes its config; null when there is a run to resume.
 */
export function nothingToResume(out: string, resume: boolean): string | null {
  return resume && !existsSync(join(out, CONFIG_FILE)) ? `--resume: nothing to resume in ${out} (no ${CONFIG_FILE}); starting a new run` : null;
}

/** Options a run records only when set (runs saved before them resume unchanged) that a resume must match, and what their absence means. */
const UNRECORDED_DEFAULTS: Record<string, unknown> = { optimizerState: 'f32' };

/** A resumed run must ask for what the saved run did (its config.yaml). */
export function checkResumeMatches(out: string, resolved: object): void {
  const saved = savedLayer(out);
  if (!saved) return;
  const now = JSON.parse(JSON.stringify(resolved)) as Record<string, unknown>;
  // The folder is where it is now: a run folder moved or copied elsewhere resumes there. Gradient
  // checkpointing changes how a step is computed, not its result: a run that ran out of memory
  // resumes with it (and one may resume without it).
  const key = firstDifference(saved.values, now, ['resume', 'overwrite', 'out', 'gradientCheckpointing']);
  if (key === null) return;
  // Options recorded only when set stand for their default when absent.
  const show = (v: unknown) => (v === undefined ? (key in UNRECORDED_DEFAULTS ? JSON.stringify(UNRECORDED_DEFAULTS[key]) : '(none)') : JSON.stringify(v));
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
