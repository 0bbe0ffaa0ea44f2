// Checkpoints of a training run: parameters and optimiser state in one safetensors file plus
// `meta.json` holding the loop's own state and a manifest of the state file (its SHA-256 and
// every tensor's name, dtype and shape), in `checkpoints/step-NNNNNN/`. Each is written to an
// exclusive temporary folder and renamed into place, so a kill at any moment leaves only
// complete checkpoints. A checkpoint is trusted only after it is checked: manifest, checksum,
// step, the tensors the run needs, and finite values; `latestIntactCheckpoint` falls back past
// damaged ones and says which it skipped.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { HostTensor } from '../engine/dtype.ts';
import { LetheError } from '../engine/errors.ts';
import { firstNonFinite, firstNonFiniteHalf } from '../io/finite.ts';
import { makeTempDir, removeStrayTemps, tempPathFor, writeFileAtomic } from '../io/atomic-write.ts';
import { encodeSafetensors, readSafetensors } from '../models/formats/index.ts';

export interface CheckpointMeta {
  step: number;
  bestScore: number | null;
  bestStep: number | null;
  /** Anything else the run needs to continue exactly (e.g. data order seed). */
  extra?: Record<string, unknown>;
}

/** What meta.json records about state.safetensors. */
export interface CheckpointManifest {
  sha256: string;
  bytes: number;
  tensors: Record<string, { dtype: string; shape: number[] }>;
}

const STATE = 'state.safetensors';
const META = 'meta.json';
const stepDir = (step: number) => `step-${String(step).padStart(6, '0')}`;
const STEP_DIR = /^step-(\d+)$/;

const metaSchema = z.object({
  step: z.number().int().nonnegative(),
  bestScore: z.number().nullable(),
  bestStep: z.number().int().nonnegative().nullable(),
  extra: z.record(z.string(), z.unknown()).optional(),
  manifest: z.object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().nonnegative(),
    tensors: z.record(z.string(), z.object({ dtype: z.string(), shape: z.array(z.number().int().nonnegative()) })),
  }),
});

/**
 * Saves `tensors` and `meta` (plus the state file's manifest) as checkpoint folder `dir/name`,
 * through an exclusive temporary folder renamed into place; returns the folder.
 */
export async function saveCheckpoint(dir: string, name: string, tensors: ReadonlyMap<string, HostTensor>, meta: CheckpointMeta): Promise<string> {
  await mkdir(dir, { recursive: true });
  const final = join(dir, name);
  const chunks = encodeSafetensors(tensors as Map<string, never>, {}, join(final, STATE));
  const hash = createHash('sha256');
  let bytes = 0;
  for (const c of chunks) {
    hash.update(c);
    bytes += c.byteLength;
  }
  const manifest: CheckpointManifest = {
    sha256: hash.digest('hex'),
    bytes,
    tensors: Object.fromEntries([...tensors].map(([n, t]) => [n, { dtype: t.dtype, shape: [...t.shape] }])),
  };
  const temp = await makeTempDir(final);
  try {
    await writeFileAtomic(join(temp, STATE), chunks);
    await writeFileAtomic(join(temp, META), JSON.stringify({ ...meta, manifest }, null, 2));
    // Replace an older folder of the same name (the best checkpoint) without a window where none exists.
    if (existsSync(final)) {
      const old = tempPathFor(final);
      await rename(final, old);
      await rename(temp, final);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(temp, final);
    }
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
  return final;
}

export const saveStepCheckpoint = (dir: string, tensors: ReadonlyMap<string, HostTensor>, meta: CheckpointMeta) =>
  saveCheckpoint(dir, stepDir(meta.step), tensors, meta);

/** What a resuming run requires of a checkpoint. */
export interface CheckpointExpectation {
  /** Every tensor the run restores (missing ones would silently keep the input's values). */
  names?: readonly string[];
  /** The run's last step: a checkpoint past it belongs to another run. */
  maxStep?: number;
}

/**
 * Reads and checks the checkpoint folder `path`: meta.json against its schema, the step
 * against the folder name and `expect.maxStep`, state.safetensors against the manifest's
 * checksum, names, dtypes and shapes, `expect.names` present, and every value finite. Throws
 * LetheError (exit 2) naming the damaged file.
 */
export async function loadCheckpoint(path: string, expect: CheckpointExpectation = {}): Promise<{ tensors: Map<string, HostTensor>; meta: CheckpointMeta }> {
  const metaPath = join(path, META);
  const statePath = join(path, STATE);
  const bad = (file: string, why: string) => new LetheError(`${file}: damaged checkpoint: ${why}`);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(metaPath, 'utf8'));
  } catch (err) {
    throw bad(metaPath, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
  const parsed = metaSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw bad(metaPath, `${issue.path.map(String).join('.') || '(file)'}: ${issue.input === undefined ? 'missing' : issue.message}`);
  }
  const { manifest, ...meta } = parsed.data;
  const named = STEP_DIR.exec(basename(path));
  if (named && Number(named[1]) !== meta.step) throw bad(metaPath, `step ${meta.step} but the folder is ${basename(path)}`);
  if (expect.maxStep !== undefined && meta.step > expect.maxStep) throw bad(metaPath, `step ${meta.step} is past the run's last step ${expect.maxStep}`);
  let bytes: Buffer;
  try {
    bytes = await readFile(statePath);
  } catch (err) {
    throw bad(statePath, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
  if (bytes.byteLength !== manifest.bytes || createHash('sha256').update(bytes).digest('hex') !== manifest.sha256) {
    throw bad(statePath, `its contents do not match the checksum in ${META} (${bytes.byteLength} bytes, ${manifest.bytes} recorded)`);
  }
  // BF16 optimiser state (--optimizer-state bf16) stays BF16, as the manifest records it.
  const tensors = (await readSafetensors(statePath, { keepHalf: true })) as unknown as Map<string, HostTensor>;
  for (const [name, want] of Object.entries(manifest.tensors)) {
    const t = tensors.get(name);
    if (!t) throw bad(statePath, `tensor "${name}" of the manifest is missing`);
    if (t.dtype !== want.dtype || t.shape.join(',') !== want.shape.join(',')) throw bad(statePath, `tensor "${name}" is ${t.dtype} [${t.shape}], the manifest says ${want.dtype} [${want.shape}]`);
  }
  for (const name of tensors.keys()) if (!(name in manifest.tensors)) throw bad(statePath, `tensor "${name}" is not in the manifest`);
  for (const name of expect.names ?? []) if (!tensors.has(name)) throw bad(statePath, `tensor "${name}" that the run needs is missing`);
  for (const [name, t] of tensors) {
    const i = t.dtype === 'bfloat16' ? firstNonFiniteHalf(t.data as Uint16Array, 0x7f80) : firstNonFinite(t.data);
    if (i >= 0) throw bad(statePath, `tensor "${name}" holds ${t.dtype === 'bfloat16' ? 'a non-finite value' : t.data[i]} at flat index ${i}`);
  }
  return { tensors, meta };
}

/** The step checkpoints of `dir`, oldest first. */
async function stepCheckpoints(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((n) => STEP_DIR.test(n)).sort();
}

/** The newest step checkpoint folder in `dir` (not checked), or null; stray temporaries are removed. */
export async function latestCheckpoint(dir: string): Promise<string | null> {
  if (!existsSync(dir)) return null;
  await removeStrayTemps(dir, 0);
  const steps = await stepCheckpoints(dir);
  return steps.length ? join(dir, steps[steps.length - 1]) : null;
}

/** A checkpoint that passed loadCheckpoint's checks, and the newer ones that did not. */
export interface IntactCheckpoint {
  path: string;
  tensors: Map<string, HostTensor>;
  meta: CheckpointMeta;
  /** Newer checkpoints that failed their checks, newest first, with the reason. */
  skipped: { path: string; reason: string }[];
}

/**
 * The newest step checkpoint in `dir` (older than `before` steps, when given) that passes
 * loadCheckpoint's checks; damaged newer ones are reported in `skipped`. Null when there are
 * none; a LetheError naming the newest damaged file when there are some but none is intact.
 */
export async function latestIntactCheckpoint(dir: string, expect: CheckpointExpectation = {}, before = Infinity): Promise<IntactCheckpoint | null> {
  if (!existsSync(dir)) return null;
  await removeStrayTemps(dir, 0);
  const steps = (await stepCheckpoints(dir)).filter((n) => Number(STEP_DIR.exec(n)![1]) < before).reverse();
  const skipped: IntactCheckpoint['skipped'] = [];
  for (const name of steps) {
    const path = join(dir, name);
    try {
      return { path, ...(await loadCheckpoint(path, expect)), skipped };
    } catch (err) {
      if (!(err instanceof LetheError)) throw err;
      skipped.push({ path, reason: err.message });
    }
  }
  if (skipped.length) throw new LetheError(`no intact checkpoint in ${dir} (newest: ${skipped[0].reason})`);
  return null;
}

/** Keep the newest `keep` step checkpoints. */
export async function pruneCheckpoints(dir: string, keep: number): Promise<void> {
  const steps = await stepCheckpoints(dir);
  for (const n of steps.slice(0, Math.max(0, steps.length - keep))) await rm(join(dir, n), { recursive: true, force: true });
}
