// Records from a JSON file that is either one JSON array of objects or JSON Lines (one object
// per line), each with the line it starts on, so that every later error can name file:line.
// Arrays are parsed with jsonc-parser (comments and trailing commas refused, i.e. plain JSON)
// because JSON.parse forgets where each element was.
import { getNodeValue, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { readFileSync } from 'node:fs';
import { LetheError } from '../engine/errors.ts';

/** One object of the file and where it is (`source:line`, for error messages). */
export interface JsonRecord {
  record: Record<string, unknown>;
  /** The file (as named to the reader). */
  source: string;
  /** 1-based line the object starts on. */
  line: number;
  /** `${source}:${line}`. */
  where: string;
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** Reads a file as UTF-8 text; a LetheError naming it when it cannot be read. */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new LetheError(`${file}: cannot read it: ${(err as Error).message}`);
  }
}

/** 1-based line of each offset of `text` (offsets ascending). */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function lineOf(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LetheError(`${where}: expected a JSON object, got ${typeName(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Parses `text` as a JSON array of objects (when its first non-blank character is `[`) or as
 * JSON Lines (blank lines skipped). `source` names the file in errors. Throws LetheError on
 * invalid JSON (with the line), a non-object element, or no records at all.
 */
export function parseJsonRecords(text: string, source: string): JsonRecord[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: JsonRecord[] = [];
  if (body.trimStart().startsWith('[')) {
    const starts = lineStarts(body);
    const errors: ParseError[] = [];
    const root = parseTree(body, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    if (errors.length > 0) {
      const e = errors[0];
      throw new LetheError(`${source}:${lineOf(starts, e.offset)}: not valid JSON: ${printParseErrorCode(e.error)}`);
    }
    for (const node of root?.children ?? []) {
      const line = lineOf(starts, node.offset);
      const where = `${source}:${line}`;
      records.push({ record: { ...asObject(getNodeValue(node), where) }, source, line, where });
    }
  } else {
    const lines = body.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '') continue;
      const where = `${source}:${i + 1}`;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        throw new LetheError(`${where}: not valid JSON: ${(err as Error).message}`);
      }
      records.push({ record: asObject(value, where), source, line: i + 1, where });
    }
  }
  if (records.length === 0) throw new LetheError(`${source}: no items (the file is empty)`);
  return records;
}

/** A string field: required ones must be present; present ones must be strings. */
export function stringField(r: JsonRecord, field: string, required: true): string;
export function stringField(r: JsonRecord, field: string, required: false): string | undefined;
export function stringField(r: JsonRecord, field: string, required: boolean): string | undefined {
  const value = r.record[field];
  if (value === undefined || value === null) {
    if (required) throw new LetheError(`${r.where}: missing field "${field}"`);
    return undefined;
  }
  if (typeof value !== 'string') throw new LetheError(`${r.where}: field "${field}" must be a string, got ${typeName(value)}`);
  return value;
}

/** A field holding a list of strings (required or optional). */
export function stringListField(r: JsonRecord, field: string, required: boolean): string[] | undefined {
  const value = r.record[field];
  if (value === undefined || value === null) {
    if (required) throw new LetheError(`${r.where}: missing field "${field}"`);
    return undefined;
  }
  if (!Array.isArray(value)) throw new LetheError(`${r.where}: field "${field}" must be a list of strings, got ${typeName(value)}`);
  const bad = value.findIndex((v) => typeof v !== 'string');
  if (bad >= 0) throw new LetheError(`${r.where}: field "${field}" must be a list of strings, but element ${bad} is ${typeName(value[bad])}`);
  return value as string[];
}
