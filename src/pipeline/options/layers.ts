// Options of a command come in layers, later ones winning: the resolved config of the run being
// resumed, a YAML config file (`--config`), then the flags. One zod schema per command checks the
// merged record; every error names where the bad value came from (`--lr: …` or
// `run.yaml: lr: …`). Keys are the flags' names in camelCase (kebab-case is accepted in files);
// relative paths in a file are relative to that file, on the command line to the working folder.
//
//   const user = parseLayers(unlearnSchema, [fileLayer('run.yaml', PATHS), flagLayer(cmd, PATHS)]);
//   const resolved = resolveUnlearnOptions(user);   // every default, in one place
//   await writeResolvedConfig(outDir, 'unlearn', resolved);

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { LetheError } from '../../engine/errors.ts';
import { parseHubRef } from '../../models/hub.ts';

/** One source of option values. `source` is 'flags' or the file's path. */
export interface Layer {
  source: string;
  values: Record<string, unknown>;
}

import { CONFIG_FILE } from '../run-config.ts';

export { CONFIG_FILE, writeResolvedConfig } from '../run-config.ts';

const camel = (key: string) => key.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Options that name a model, which may be a Hub name (`org/name[@revision]`) rather than a path. */
const MODEL_KEYS = new Set(['model', 'retainModel', 'targetModel', 'referenceModel']);

/** A Hub name, kept as written: no file or folder of that name exists under `base`. */
const isHubName = (value: string, base: string) => !existsSync(resolve(base, value)) && parseHubRef(value) !== null;

/** `values` with the paths among `pathKeys` resolved against `base` (a model key's Hub name is kept as written). */
export function resolvePaths(values: Record<string, unknown>, pathKeys: readonly string[], base: string): Record<string, unknown> {
  const out = { ...values };
  for (const key of pathKeys) {
    const value = out[key];
    if (typeof value === 'string') {
      if (value !== '' && !(MODEL_KEYS.has(key) && isHubName(value, base))) out[key] = resolve(base, value);
    }
    // A repeated path flag (--forget-mc A --forget-mc B) or a list of paths in a file.
    else if (Array.isArray(value)) out[key] = (value as unknown[]).map((p) => (typeof p === 'string' && p !== '' ? resolve(base, p) : p));
  }
  return out;
}

/** The values of a YAML config file: a mapping of option names; `pathKeys` are resolved against the file's folder. */
export function fileLayer(path: string, pathKeys: readonly string[] = []): Layer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LetheError(code === 'ENOENT' ? `${path}: config file not found` : `${path}: cannot read the config file (${code})`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const at = e.linePos ? `:${e.linePos[0].line}:${e.linePos[0].col}` : '';
    throw new LetheError(`${path}${at}: not valid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  let json: unknown;
  try {
    json = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    // The yaml library stops alias bombs (ReferenceError "Excessive alias count…"): bad input, one line.
    throw new LetheError(`${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isRecord(json)) throw new LetheError(`${path}: expected a mapping of option names to values at the top level`);
  const values = Object.fromEntries(Object.entries(json).map(([k, v]) => [camel(k), v]));
  // A run's own config.yaml (what lethe wrote: `command` and `lethe` head it) reads back as options.
  if ('command' in values && 'lethe' in values) {
    delete values.command;
    delete values.lethe;
  }
  return { source: path, values: resolvePaths(values, pathKeys, dirname(resolve(path))) };
}

/** A run's saved config.yaml as the lowest layer (for --resume), or null when there is none. */
export function savedLayer(runDir: string): Layer | null {
  const path = join(runDir, CONFIG_FILE);
  if (!existsSync(path)) return null;
  return fileLayer(path);
}

/** Merges layers (a record value, such as methodOptions, is merged key by key); remembers which layer gave each key. */
export function mergeLayers(layers: readonly Layer[]): { values: Record<string, unknown>; sourceOf: Map<string, string> } {
  const values: Record<string, unknown> = {};
  const sourceOf = new Map<string, string>();
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      if (value === undefined) continue;
      values[key] = isRecord(value) && isRecord(values[key]) ? { ...values[key], ...value } : value;
      sourceOf.set(key, layer.source);
    }
  }
  return { values, sourceOf };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'a mapping';
  return String(value);
}

const lookup = (values: Record<string, unknown>, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((v, k) => (isRecord(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[k] : undefined), values);

/** Validates the merged layers with `schema`; the error names the flag or the file and field of the first problem. */
export function parseLayers<S extends z.ZodType>(schema: S, layers: readonly Layer[]): z.infer<S> {
  const { values, sourceOf } = mergeLayers(layers);
  const result = schema.safeParse(values, { reportInput: true });
  if (result.success) return result.data;
  // An unknown key first: a misspelt name also shows up as that option missing.
  const issue = result.error.issues.find((i) => i.code === 'unrecognized_keys') ?? result.error.issues[0];
  const [head, ...rest] = issue.path.map(String);
  const fromFile = layers.find((l) => l.source !== 'flags')?.source;
  let where: string;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const source = sourceOf.get(key) ?? fromFile ?? 'flags';
    throw new LetheError(source === 'flags' ? `unknown option --${kebab(key)}` : `${source}: unknown field "${key}"${issue.path.length ? ` in ${issue.path.join('.')}` : ''}`);
  }
  if (head === undefined) where = '';
  else {
    const source = sourceOf.get(head);
    // A missing value is named by its flag (it may also go in a config file under the same name).
    if (source === 'flags' || source === undefined) where = `--${kebab(head)}${rest.length ? ` ${rest.join('.')}` : ''}`;
    else where = `${source}: ${[head, ...rest].join('.')}`;
  }
  const message = describeIssue(issue, values);
  throw new LetheError(where ? `${where}: ${message}` : message);
}

/**
 * What a schema's `issue` found wrong in `values` (what was parsed), said as the option messages
 * say it: "expected one of f32, bf16, got \"fp8\"".
 */
export function describeIssue(issue: z.core.$ZodIssue, values: Record<string, unknown>): string {
  const value = 'input' in issue ? issue.input : lookup(values, issue.path);
  const expected: Record<string, string> = { number: 'a number', int: 'an integer', boolean: 'true or false', string: 'a string', object: 'a mapping', array: 'a list' };
  if (issue.code === 'invalid_type') return value === undefined ? 'missing (required)' : `expected ${expected[issue.expected] ?? issue.expected}, got ${describe(value)}`;
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map(String).join(', ')}, got ${describe(value)}`;
  if ((issue.code === 'invalid_union' || issue.code === 'too_small' || issue.code === 'too_big') && value !== undefined) return `${issue.message}, got ${describe(value)}`;
  return issue.message;
}


/** The first key whose value differs between two resolved configs (for --resume), or null. */
export function firstDifference(saved: Record<string, unknown>, now: Record<string, unknown>, ignore: readonly string[] = []): string | null {
  const keys = new Set([...Object.keys(saved), ...Object.keys(now)]);
  for (const key of keys) {
    if (ignore.includes(key)) continue;
    if (JSON.stringify(saved[key]) !== JSON.stringify(now[key])) return key;
  }
  return null;
}

// Field types for command schemas. Flags arrive as strings; a numeric string is read as a number.
export { number, positive, nonNegative, int, positiveInt, nonNegativeInt, path, flag } from './fields.ts';
