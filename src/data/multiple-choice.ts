// Multiple-choice sets (capabilities: WMDP-style forget sets, MMLU-style utility sets), in the
// two layouts they ship in:
//  - WMDP / Hugging Face JSON: `{question, choices: [..], answer: <index>}` per item, as one JSON
//    array or JSON Lines (an optional `subject`; `answer` may also be a letter "A", "B", ...);
//  - MMLU's CSV (the original release, data/{dev,val,test}/SUBJECT_{dev,val,test}.csv): rows
//    `question, A, B, C, D, answer letter` without a header (a header row naming the columns is
//    skipped); the subject comes from the file name (high_school_biology_test.csv → "high
//    school biology"), as lm-evaluation-harness's MMLU task descriptions name it.
// Every error names file:line and the problem.
import { parse as parseCsv } from 'csv-parse/sync';
import { basename, extname } from 'node:path';
import { LetheError } from '../engine/errors.ts';
import { parseJsonRecords, readTextFile, stringField, stringListField, typeName, type JsonRecord } from './json-records.ts';

/** One multiple-choice question. */
export interface McItem {
  question: string;
  /** The options, in order; option k is lettered String.fromCharCode(65 + k). */
  choices: string[];
  /** Index of the right option in `choices`. */
  answer: number;
  /** The subject, when the file names one (MMLU's file name, a `subject` field). */
  subject?: string;
  /** `file:line` where the item starts, for messages. */
  where: string;
}

/** At most 26 options (A..Z), at least 2. */
export const MAX_CHOICES = 26;

export const choiceLetter = (k: number): string => String.fromCharCode(65 + k);

function letterIndex(letter: string, choices: number, where: string): number {
  const k = letter.trim().toUpperCase().charCodeAt(0) - 65;
  if (letter.trim().length !== 1 || !(k >= 0 && k < choices)) {
    throw new LetheError(`${where}: answer "${letter}" is not one of the option letters A..${choiceLetter(choices - 1)}`);
  }
  return k;
}

function checkChoices(choices: string[], where: string): void {
  if (choices.length < 2 || choices.length > MAX_CHOICES) {
    throw new LetheError(`${where}: ${choices.length} options; a multiple-choice item needs 2 to ${MAX_CHOICES}`);
  }
}

function itemFromRecord(r: JsonRecord): McItem {
  const question = stringField(r, 'question', true);
  const choices = stringListField(r, 'choices', true)!;
  checkChoices(choices, r.where);
  const raw = r.record.answer;
  let answer: number;
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 0 || raw >= choices.length) {
      throw new LetheError(`${r.where}: answer ${raw} is not an option index 0..${choices.length - 1}`);
    }
    answer = raw;
  } else if (typeof raw === 'string') {
    answer = letterIndex(raw, choices.length, r.where);
  } else if (raw === undefined) {
    throw new LetheError(`${r.where}: missing field "answer"`);
  } else {
    throw new LetheError(`${r.where}: field "answer" must be an option index or letter, got ${typeName(raw)}`);
  }
  const subject = stringField(r, 'subject', false);
  return { question, choices, answer, ...(subject === undefined ? {} : { subject }), where: r.where };
}

/** Parses WMDP-style JSON (an array or JSON Lines) text; `source` names it in errors. */
export function parseMcJson(text: string, source: string): McItem[] {
  return parseJsonRecords(text, source).map(itemFromRecord);
}

/** MMLU's subject from its file name: "high_school_biology_test.csv" → "high school biology". */
export function mmluSubjectFromFileName(file: string): string | undefined {
  const stem = basename(file, extname(file));
  const match = /^(.+)_(dev|val|test|auxiliary_train)$/.exec(stem);
  return match ? match[1].replace(/_/g, ' ') : undefined;
}

/**
 * Parses MMLU-layout CSV text: each row `question, option..., answer letter` (at least two
 * options). `subject` is attached to every item when given.
 */
export function parseMmluCsv(text: string, source: string, subject?: string): McItem[] {
  const bytes = Buffer.from(text, 'utf8');
  let rows: { record: string[]; info: { bytes: number } }[];
  try {
    rows = parseCsv(bytes, { info: true, relax_column_count: true, skip_empty_lines: true, bom: true }) as unknown as typeof rows;
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new LetheError(`${source}${e.lines ? `:${e.lines}` : ''}: not valid CSV: ${e.message}`);
  }
  const items: McItem[] = [];
  // Rows may span lines (quoted line breaks), so a row's line is counted from its byte offset:
  // it starts where the previous row ended, past any blank lines.
  let start = 0;
  let scanned = 0;
  let line = 1;
  let columns: number | undefined;
  rows.forEach(({ record, info }, index) => {
    while (start < bytes.length && (bytes[start] === 10 || bytes[start] === 13)) start++;
    for (; scanned < start; scanned++) if (bytes[scanned] === 10) line++;
    const where = `${source}:${line}`;
    start = info.bytes;
    const isHeader = index === 0 && record[0]?.trim().toLowerCase() === 'question' && record[record.length - 1]?.trim().toLowerCase() === 'answer';
    if (isHeader) return;
    if (record.length < 4) {
      throw new LetheError(`${where}: ${record.length} columns; expected question, the options (A, B, C, D) and the answer letter`);
    }
    // Every row of a file has as many options as its first: a stray comma in a question would
    // otherwise shift it silently into an extra option.
    columns ??= record.length;
    if (record.length !== columns) {
      throw new LetheError(`${where}: ${record.length} columns where the file's first row has ${columns} (question, ${columns - 2} options, answer); quote a field that holds a comma`);
    }
    const choices = record.slice(1, -1);
    checkChoices(choices, where);
    const answer = letterIndex(record[record.length - 1], choices.length, where);
    items.push({ question: record[0], choices, answer, ...(subject === undefined ? {} : { subject }), where });
  });
  if (items.length === 0) throw new LetheError(`${source}: no items (the file is empty)`);
  return items;
}

export interface ReadMcOptions {
  /** The subject for every item (default: a `subject` field, or MMLU's file name for CSV). */
  subject?: string;
}

/**
 * Reads a multiple-choice file by its extension: .csv (MMLU layout), .json or .jsonl (WMDP
 * layout, an array or JSON Lines). Throws LetheError naming file:line on any problem.
 */
export function readMultipleChoiceFile(file: string, options: ReadMcOptions = {}): McItem[] {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return parseMmluCsv(readTextFile(file), file, options.subject ?? mmluSubjectFromFileName(file));
  if (ext === '.json' || ext === '.jsonl') {
    const items = parseMcJson(readTextFile(file), file);
    return options.subject === undefined ? items : items.map((i) => ({ ...i, subject: options.subject }));
  }
  throw new LetheError(`${file}: unknown multiple-choice file type "${ext}" (known: .csv in MMLU's layout, .json/.jsonl in WMDP's)`);
}
