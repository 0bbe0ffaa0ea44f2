// Where lethe may write: one containment rule for every command. Paths are compared after
// following symbolic links (of the part that exists), and "inside" is decided on whole path
// components, so `model/..run` is inside `model` while `../run` is not.

import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { LetheError } from '../engine/errors.ts';

/**
 * The absolute path with symbolic links resolved: the deepest existing ancestor goes through
 * realpath and the part that does not exist yet is kept as written.
 */
export function realPath(p: string, depth = 0): string {
  const abs = resolve(p);
  const tail: string[] = [];
  let at = abs;
  while (!existsSync(at)) {
    // A dangling symbolic link: what it points to is where a write would land.
    const link = danglingTarget(at);
    if (link !== null && depth < 32) return join(realPath(resolve(dirname(at), link), depth + 1), ...tail);
    const up = dirname(at);
    if (up === at) break;
    tail.unshift(basename(at));
    at = up;
  }
  let base = at;
  try {
    base = realpathSync(at);
  } catch {
    // unreadable: compare as written
  }
  return tail.length ? join(base, ...tail) : base;
}

function danglingTarget(p: string): string | null {
  try {
    return lstatSync(p).isSymbolicLink() ? readlinkSync(p) : null;
  } catch {
    return null;
  }
}

/** True when `inner` is `outer` or lies inside it, after following symbolic links. */
export function isInside(inner: string, outer: string): boolean {
  const rel = relative(realPath(outer), realPath(inner));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** What a command is about to write. */
export interface WriteTarget {
  /** The file or folder the user named (`--out`). */
  path: string;
  /** The flag that named it, for messages. */
  flag: string;
  /**
   * Entries under `path` that the command creates or replaces (relative; '' is `path` itself,
   * the default). An input inside one of them would be replaced.
   */
  replaces?: readonly string[];
}

/** An input a command reads: a model folder or file, a data file, a config file. */
export interface ReadSource {
  path: string;
  /** "the input model", "the forget set", …, for messages. */
  what: string;
}

/**
 * Refuses a write target that lies inside an input, or whose replaced entries would hold one.
 * Throws LetheError (exit 2) naming the flag, the target and the input.
 */
export function checkWritesOutsideInputs(target: WriteTarget, inputs: readonly ReadSource[]): void {
  const replaces = target.replaces ?? [''];
  for (const input of inputs) {
    if (!input.path) continue;
    if (isInside(target.path, input.path)) {
      const where = realPath(target.path) === realPath(input.path) ? 'is' : 'is inside';
      throw new LetheError(`${target.flag} ${target.path}: ${where} ${input.what} ${input.path}; lethe never writes its input (choose another ${target.flag})`);
    }
    for (const entry of replaces) {
      const replaced = entry === '' ? target.path : join(target.path, entry);
      if (isInside(input.path, replaced)) {
        throw new LetheError(`${target.flag} ${target.path}: writing ${replaced} would replace ${input.what} ${input.path}; lethe never writes its input (choose another ${target.flag})`);
      }
    }
  }
}
