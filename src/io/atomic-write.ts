// The one way lethe writes a file: the bytes go to a temporary file with a random name in the
// destination folder, created exclusively ('wx': never an existing file, never through a
// planted symbolic link), flushed to disk, then renamed over the target (same folder, same
// file system, so readers see the old file or the whole new one). A kill mid-write leaves at
// most a stray temporary file whose name `isTempName` recognises; `removeStrayTemps` cleans
// them when the run folder is claimed again.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { chmod, mkdtemp, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LetheError } from '../engine/errors.ts';

const TEMP = /^\..+\.tmp-[0-9a-zA-Z]{6,}$/;

/** A fresh unpredictable temporary name for `path`, in its folder. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${randomBytes(12).toString('hex')}`);
}

/** True for names made by tempPathFor and makeTempDir. */
export const isTempName = (name: string): boolean => TEMP.test(name);

const reasonOf = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}${e.message ? `: ${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}` : ''}` : e instanceof Error ? e.message : String(err);
};

/**
 * Writes `chunks` (or a string, as UTF-8) to `path` atomically through an exclusive temporary
 * file. Throws LetheError naming `path` (disk full, read-only, missing folder…).
 */
export async function writeFileAtomic(path: string, chunks: string | Uint8Array | Iterable<Uint8Array>): Promise<void> {
  const temp = tempPathFor(path);
  const parts = typeof chunks === 'string' ? [Buffer.from(chunks, 'utf8')] : chunks instanceof Uint8Array ? [chunks] : chunks;
  let created = false;
  try {
    const handle = await open(temp, 'wx');
    created = true;
    try {
      for (const part of parts) {
        let written = 0;
        while (written < part.byteLength) {
          const { bytesWritten } = await handle.write(part, written, part.byteLength - written);
          written += bytesWritten;
        }
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    if (created) await rm(temp, { force: true }).catch(() => undefined);
    // A chunk that could not be made (a LetheError of its producer) says so itself.
    if (err instanceof LetheError) throw err;
    throw new LetheError(`${path}: could not write the file (${reasonOf(err)})`);
  }
}

/** writeFileAtomic for synchronous callers. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const temp = tempPathFor(path);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd: number | null = null;
  try {
    fd = openSync(temp, 'wx');
    let written = 0;
    while (written < bytes.byteLength) written += writeSync(fd, bytes, written, bytes.byteLength - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temp, path);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    rmSync(temp, { force: true });
    throw new LetheError(`${path}: could not write the file (${reasonOf(err)})`);
  }
}

/** An exclusively created temporary folder beside `path` (random name), to fill and rename into place. */
export async function makeTempDir(path: string): Promise<string> {
  try {
    const dir = await mkdtemp(join(dirname(path), `.${basename(path)}.tmp-`));
    await chmod(dir, 0o777 & ~process.umask()); // mkdtemp makes it private; the final folder is an ordinary one
    return dir;
  } catch (err) {
    throw new LetheError(`${path}: could not create a temporary folder beside it (${reasonOf(err)})`);
  }
}

/**
 * Removes leftover temporary files and folders (names from tempPathFor/makeTempDir) in `dir`
 * and its sub-folders, to `depth` levels. Call only while holding the folder's run lock.
 */
export async function removeStrayTemps(dir: string, depth = 3): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (d: string, left: number) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (isTempName(e.name)) {
        await rm(p, { recursive: true, force: true });
        removed.push(p);
      } else if (e.isDirectory() && left > 0) {
        await walk(p, left - 1);
      }
    }
  };
  await walk(dir, depth);
  return removed;
}
