// Checkpoints of a training run: parameters and optimiser state in one safetensors file plus a
// small JSON of the loop's own state, in `checkpoints/step-NNNNNN/`. Each is written to a
// temporary folder and renamed into place, so a kill at any moment leaves only complete
// checkpoints (a leftover temporary folder is ignored and cleaned up on resume).

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostTensor } from '../engine/dtype.ts';
import { LetheError } from '../engine/errors.ts';
import { readSafetensors, writeSafetensors } from '../models/formats/index.ts';

export interface CheckpointMeta {
  step: number;
  bestScore: number | null;
  bestStep: number | null;
  /** Anything else the run needs to continue exactly (e.g. data order seed). */
  extra?: Record<string, unknown>;
}

const STATE = 'state.safetensors';
const META = 'meta.json';
const stepDir = (step: number) => `step-${String(step).padStart(6, '0')}`;

export async function saveCheckpoint(dir: string, name: string, tensors: ReadonlyMap<string, HostTensor>, meta: CheckpointMeta): Promise<string> {
  await mkdir(dir, { recursive: true });
  const final = join(dir, name);
  const temp = join(dir, `.tmp-${name}-${process.pid}`);
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp);
  await writeSafetensors(join(temp, STATE), tensors as Map<string, never>);
  await writeFile(join(temp, META), JSON.stringify(meta, null, 2));
  // Replace an older folder of the same name (the best checkpoint) without a window where none exists.
  if (existsSync(final)) {
    const old = join(dir, `.old-${name}-${process.pid}`);
    await rename(final, old);
    await rename(temp, final);
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(temp, final);
  }
  return final;
}

export const saveStepCheckpoint = (dir: string, tensors: ReadonlyMap<string, HostTensor>, meta: CheckpointMeta) =>
  saveCheckpoint(dir, stepDir(meta.step), tensors, meta);

export async function loadCheckpoint(path: string): Promise<{ tensors: Map<string, HostTensor>; meta: CheckpointMeta }> {
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(await readFile(join(path, META), 'utf8')) as CheckpointMeta;
  } catch (err) {
    throw new LetheError(`${join(path, META)}: cannot read the checkpoint (${(err as Error).message})`);
  }
  const tensors = (await readSafetensors(join(path, STATE))) as unknown as Map<string, HostTensor>;
  return { tensors, meta };
}

/** The newest complete step checkpoint in `dir`, or null; stray temporary folders are removed. */
export async function latestCheckpoint(dir: string): Promise<string | null> {
  if (!existsSync(dir)) return null;
  const names = await readdir(dir);
  for (const n of names) if (n.startsWith('.tmp-') || n.startsWith('.old-')) await rm(join(dir, n), { recursive: true, force: true });
  const steps = names.filter((n) => /^step-\d+$/.test(n) && existsSync(join(dir, n, META))).sort();
  return steps.length ? join(dir, steps[steps.length - 1]) : null;
}

/** Keep the newest `keep` step checkpoints. */
export async function pruneCheckpoints(dir: string, keep: number): Promise<void> {
  const steps = (await readdir(dir)).filter((n) => /^step-\d+$/.test(n)).sort();
  for (const n of steps.slice(0, Math.max(0, steps.length - keep))) await rm(join(dir, n), { recursive: true, force: true });
}
