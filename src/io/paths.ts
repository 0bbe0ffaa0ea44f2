// Where lethe may write: one containment rule for every command. Paths are compared after
// following symbolic links (of the part that exists), and "inside" is decided on whole path
// components, so `model/..run` is inside `model` while `../run` is not.

import { closeSync, existsSync, lstatSync, openSync, readSync, readlinkSync, realpathSync, statSync } from 'node:fs';
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

/** What lethe writes to a file named by --out, to recognise its own earlier output by. */
export type OutputKind = 'results' | 'attacks' | 'report';

/** The first bytes of a file (what recognising lethe's own output needs; a big file is not read whole). */
function head(path: string, bytes = 4096): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    return buf.subarray(0, readSync(fd, buf, 0, bytes, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

const OWN_OUTPUT: Record<OutputKind, { looks: (start: string) => boolean; what: string }> = {
  // results.json: the versioned schema is its first field.
  results: { looks: (s) => /^\s*\{\s*"schema"\s*:\s*"lethe\./.test(s), what: 'a lethe results file' },
  // lethe attack's record: { "<attack>": { "before": … } }.
  attacks: { looks: (s) => /^\s*\{\s*("[^"]*"\s*:\s*\{\s*"before"|\}\s*$)/.test(s), what: 'a lethe attack file' },
  report: { looks: (s) => /^<!DOCTYPE html>\s*<html[^>]*>\s*<head>[\s\S]*<title>lethe /.test(s), what: 'a lethe report' },
};

/**
 * Refuses to replace an existing file that lethe did not write: --out may name a new path, a
 * folder (the command writes its own file inside), or an earlier output of the same kind, which
 * it replaces. Anything else (a data file, a source file, another tool's JSON) is kept and the
 * command exits 2 naming it. Throws LetheError.
 */
export function checkReplaceable(path: string, flag: string, kind: OutputKind): void {
  if (!existsSync(path) || statSync(path).isDirectory()) return;
  const own = OWN_OUTPUT[kind];
  if (!own.looks(head(path))) throw new LetheError(`${flag} ${path}: exists and is not ${own.what}; lethe replaces only its own earlier output (choose a new path or remove the file)`);
}
