// Content hashes: of a model folder or data file (so a worker can tell whether its copy is the
// coordinator's), and of a trial's config (its stable id). SHA-256 throughout.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LetheError } from '../../engine/errors.ts';

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** First `chars` hex digits of SHA-256 of the canonical JSON of `value`. */
export function hashJson(value: unknown, chars = 16): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, chars);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/**
 * `sha256:<hex>` of a file's bytes, or of a folder: every file under it in sorted relative-path
 * order, each as its path, its size and its bytes (so renaming or moving bytes between files
 * changes the hash). Streams, so a model of many GB needs no memory. Throws LetheError when the
 * path does not exist.
 */
export async function hashPath(path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new LetheError(`${path}: not found (an input of the sweep)`);
  }
  const hash = createHash('sha256');
  const files = info.isDirectory() ? (await filesUnder(path)).sort() : [path];
  for (const file of files) {
    if (info.isDirectory()) {
      const size = (await stat(file)).size;
      hash.update(`${relative(path, file).split('\\').join('/')}\0${size}\0`);
    }
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** Size and modification time of a file, or of every file under a folder (cheap: no reading). */
async function fingerprint(path: string): Promise<string> {
  try {
    const s = await stat(path);
    if (!s.isDirectory()) return `${s.size}:${s.mtimeMs}`;
    const files = (await filesUnder(path)).sort();
    const parts = await Promise.all(files.map(async (f) => {
      const fs = await stat(f);
      return `${relative(path, f)}:${fs.size}:${fs.mtimeMs}`;
    }));
    return parts.join('|');
  } catch {
    return 'missing';
  }
}

/**
 * hashPath with a cache (a worker checks the same inputs for every trial): a path is hashed
 * again only when a file's size or modification time changed, or a file came or went.
 */
export class HashCache {
  private readonly cache = new Map<string, { key: string; hash: Promise<string> }>();

  async hash(path: string): Promise<string> {
    const key = await fingerprint(path);
    const hit = this.cache.get(path);
    if (hit && hit.key === key) return hit.hash;
    const hash = hashPath(path);
    this.cache.set(path, { key, hash });
    hash.catch(() => this.cache.delete(path));
    return hash;
  }
}
