// The method registry: one line per method, `registerMethod` for methods defined outside the
// package, and the one place a method name and its option overrides are resolved.
import { LetheError } from '../../engine/errors.ts';
import type { CommonOptions, UnlearnMethod } from '../method.ts';
import { ceU } from './ce-u.ts';
import { ga } from './ga.ts';
import { gradDiff } from './grad-diff.ts';
import { idkDpo } from './idk-dpo.ts';
import { npo } from './npo.ts';
import { rmu } from './rmu.ts';
import { satImp } from './satimp.ts';
import { simNpo } from './simnpo.ts';
import { undial } from './undial.ts';
import { wga } from './wga.ts';

/** A method of any option type, as the registry holds it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethod = UnlearnMethod<any>;

const registry: Record<string, AnyMethod> = {};

/**
 * Adds a method to the registry, so that `unlearn({ method: name })` and `lethe unlearn --method
 * name` find it. Throws LetheError when the name is taken or not lower-case kebab-case.
 */
export function registerMethod(method: AnyMethod): void {
  if (!/^[a-z][a-z0-9-]*$/.test(method.name)) throw new LetheError(`method name "${method.name}": use lower-case letters, digits and dashes`);
  if (method.name in registry) throw new LetheError(`method "${method.name}" is already registered`);
  registry[method.name] = method;
}

for (const m of [ga, gradDiff, npo, simNpo, idkDpo, rmu, wga, satImp, undial, ceU]) registerMethod(m);

/** Every registered method, by name, in registration order. */
export const METHODS: Readonly<Record<string, AnyMethod>> = registry;

/** The names of the registered methods, in registration order. */
export const methodNames = (): string[] => Object.keys(registry);

/** The method called `name` (any case). Throws LetheError naming the known methods. */
export function getMethod(name: string): AnyMethod {
  const method = Object.hasOwn(registry, name.toLowerCase()) ? registry[name.toLowerCase()] : undefined;
  if (!method) throw new LetheError(`unknown method "${name}" (known: ${methodNames().join(', ')})`);
  return method;
}

/** Names the field of an override in error messages: `--method-option beta` on the command line. */
export type FieldLabel = (key: string) => string;
const libraryLabel: FieldLabel = (key) => `method option ${key}`;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * The method's options: its defaults with `overrides` applied, checked against its schema once.
 * A string override that reads as a number becomes one (flags arrive as strings). Throws one
 * LetheError line naming the option: an unknown key, a wrong type, a value outside its range or
 * not one of the allowed values (listed).
 */
export function methodOptions<O extends object>(method: UnlearnMethod<O>, overrides: Record<string, unknown> = {}, label: FieldLabel = libraryLabel): O & CommonOptions {
  const defaults = method.defaults as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in defaults) && !(key in shapeOf(method))) throw new LetheError(`${label(key)}: method ${method.name} has no such option (its options: ${Object.keys(defaults).join(', ')})`);
    merged[key] = typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  const parsed = method.schema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = String(issue.path[0] ?? '');
  const value = merged[key];
  let problem: string;
  if (issue.code === 'invalid_type') problem = `expected a ${issue.expected}, got ${describe(value)}`;
  else if (issue.code === 'invalid_value') problem = `expected one of ${issue.values.map(String).join(', ')}, got ${describe(value)}`;
  else if (issue.code === 'unrecognized_keys') problem = `method ${method.name} has no such option (its options: ${Object.keys(defaults).join(', ')})`;
  else problem = `${issue.message}, got ${describe(value)}`;
  throw new LetheError(`${label(issue.code === 'unrecognized_keys' ? issue.keys[0] : key)}: ${problem}`);
}

/** The keys a method's schema knows (optional ones, such as klPositions, have no default). */
function shapeOf(method: AnyMethod): Record<string, unknown> {
  const shape = (method.schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ?? {};
}

/** A method with its options checked and made concrete for `model` (what a run uses). */
export interface ResolvedMethod {
  method: AnyMethod;
  options: CommonOptions & Record<string, unknown>;
}
