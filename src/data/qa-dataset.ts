// Forget and retain sets from files: JSON Lines question/answer pairs (TOFU-style) and plain
// text (MUSE-style). Every error names the file, and the 1-based line, and the problem; every
// item carries its file and line (`source`) so later errors (tokenising, batching, overlap) can
// name them too, whatever the order the items are used in. A line longer than maxLineBytes is
// rejected by its byte length before it is parsed or tokenised.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../engine/errors.ts';

/** Where an item came from: the file as given and the 1-based line (1 for a whole-file document). */
export interface ItemSource {
  file: string;
  line: number;
}

/** The longest line (JSON Lines record or text document) read by default: 8 MiB. */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

export interface ReadOptions {
  /** Lines (and whole-file documents) longer than this many UTF-8 bytes are an error. Default MAX_LINE_BYTES. */
  maxLineBytes?: number;
}

/** A LetheError when `line` is longer than `max` bytes; checked before anything parses it. */
function checkLineBytes(line: string, max: number, where: string): void {
  // A UTF-16 unit is at most 3 UTF-8 bytes: only count when it could be too long.
  if (line.length * 3 <= max) return;
  const bytes = Buffer.byteLength(line, 'utf8');
  if (bytes > max) throw new LetheError(`${where}: the line is ${bytes} bytes, more than the limit of ${max} (maxLineBytes)`);
}

function maxLineBytesOf(options: ReadOptions, source: string): number {
  const max = options.maxLineBytes ?? MAX_LINE_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) throw new LetheError(`${source}: maxLineBytes must be a positive integer, got ${max}`);
  return max;
}

/**
 * One question/answer pair. JSON fields: question, answer, paraphrased_question,
 * paraphrased_answer, perturbed_answer (a list: the wrong answers of the truth ratio),
 * original_answer (TOFU's real authors and world facts: the full-sentence answer).
 */
export interface QaItem {
  question: string;
  answer: string;
  paraphrasedQuestion?: string;
  paraphrasedAnswer?: string;
  perturbedAnswers?: string[];
  originalAnswer?: string;
  /** The file and line it was read from. */
  source?: ItemSource;
}

/** A path string or a file: URL (e.g. `new URL('x.jsonl', import.meta.url)`). */
export type FileRef = string | URL;

export function describeFile(file: FileRef): string {
  return typeof file === 'string' ? file : fileURLToPath(file);
}

function readText(file: FileRef): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new LetheError(`${describeFile(file)}: cannot read it: ${(err as Error).message}`);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** Parses JSON Lines text; `source` names it in errors and in each item's source. Blank lines are skipped. */
export function parseQaJsonl(text: string, source: string, options: ReadOptions = {}): QaItem[] {
  const max = maxLineBytesOf(options, source);
  const items: QaItem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const where = `${source}:${i + 1}`;
    checkLineBytes(lines[i], max, where);
    const line = lines[i].trim();
    if (line === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new LetheError(`${where}: not valid JSON: ${(err as Error).message}`);
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new LetheError(`${where}: expected a JSON object, got ${typeName(row)}`);
    }
    const record = row as Record<string, unknown>;
    const text = (field: string, required: boolean): string | undefined => {
      const value = record[field];
      if (value === undefined) {
        if (required) throw new LetheError(`${where}: missing field "${field}"`);
        return undefined;
      }
      if (typeof value !== 'string') throw new LetheError(`${where}: field "${field}" must be a string, got ${typeName(value)}`);
      return value;
    };
    const item: QaItem = { question: text('question', true)!, answer: text('answer', true)!, source: { file: source, line: i + 1 } };
    const paraphrasedQuestion = text('paraphrased_question', false);
    const paraphrasedAnswer = text('paraphrased_answer', false);
    const originalAnswer = text('original_answer', false);
    if (paraphrasedQuestion !== undefined) item.paraphrasedQuestion = paraphrasedQuestion;
    if (paraphrasedAnswer !== undefined) item.paraphrasedAnswer = paraphrasedAnswer;
    if (originalAnswer !== undefined) item.originalAnswer = originalAnswer;
    const perturbed = record.perturbed_answer;
    if (perturbed !== undefined) {
      if (!Array.isArray(perturbed) || perturbed.some((p) => typeof p !== 'string')) {
        throw new LetheError(`${where}: field "perturbed_answer" must be an array of strings, got ${typeName(perturbed)}`);
      }
      item.perturbedAnswers = perturbed as string[];
    }
    items.push(item);
  }
  if (items.length === 0) throw new LetheError(`${source}: no items (the set is empty)`);
  return items;
}

/** Reads a JSON Lines question/answer file. */
export function readQaJsonl(file: FileRef, options: ReadOptions = {}): QaItem[] {
  return parseQaJsonl(readText(file), describeFile(file), options);
}

/**
 * How a plain text file splits into documents: 'lines' — each non-blank line is one document
 * (blank lines are skipped); 'whole' — the whole file is one document.
 */
export type TextSplit = 'lines' | 'whole';

/** One document of a text set and where it came from. */
export interface TextItem {
  text: string;
  source: ItemSource;
}

/** Splits text into documents (see TextSplit); `source` names it in errors and sources. */
export function parseTextSet(text: string, source: string, options: ReadOptions & { split?: TextSplit } = {}): TextItem[] {
  const max = maxLineBytesOf(options, source);
  const split = options.split ?? 'lines';
  const documents: TextItem[] = [];
  if (split === 'lines') {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      checkLineBytes(lines[i], max, `${source}:${i + 1}`);
      const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
      if (line.trim() !== '') documents.push({ text: line, source: { file: source, line: i + 1 } });
    }
  } else if (split === 'whole') {
    checkLineBytes(text, max, `${source}:1`);
    if (text.trim() !== '') documents.push({ text, source: { file: source, line: 1 } });
  } else throw new LetheError(`${source}: unknown text split "${String(split)}" (known: lines, whole)`);
  if (documents.length === 0) throw new LetheError(`${source}: no documents (the file is empty)`);
  return documents;
}

/** Reads a plain text set (MUSE-style forget/retain text) with each document's file and line. */
export function readTextItems(file: FileRef, options: ReadOptions & { split?: TextSplit } = {}): TextItem[] {
  return parseTextSet(readText(file), describeFile(file), options);
}

/** Reads a plain text set (MUSE-style forget/retain text), split per `split` (default 'lines'). */
export function readTextSet(file: FileRef, options: ReadOptions & { split?: TextSplit } = {}): string[] {
  return readTextItems(file, options).map((d) => d.text);
}
