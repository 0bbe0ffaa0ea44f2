// Write a file so that readers see either the old file or the whole new one: the bytes go to a
// temporary name in the same folder (same file system, so rename is atomic), are flushed, and
// the temporary file is renamed over the target. A run killed mid-write leaves at most a stray
// `.name.tmp-*` file, never a half-written model.
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LetheError } from '../../engine/errors.ts';

/** Writes `chunks` (or a string, as UTF-8) to `path` atomically. */
export async function writeFileAtomic(path: string, chunks: string | readonly Uint8Array[]): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const parts = typeof chunks === 'string' ? [Buffer.from(chunks, 'utf8')] : chunks;
  try {
    const handle = await open(temp, 'w');
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
    await rm(temp, { force: true });
    const reason = err instanceof Error ? err.message : String(err);
    throw new LetheError(`${path}: could not write the file: ${reason}`);
  }
}
