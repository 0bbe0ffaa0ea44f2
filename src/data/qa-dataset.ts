// Forget and retain sets from files: JSON Lines question/answer pairs (TOFU-style) and plain
// text (MUSE-style). Every error names the file, and for JSON Lines the line, and the problem.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../engine/errors.ts';

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

/** Parses JSON Lines text; `source` names it in errors. Blank lines are skipped. */
export function parseQaJsonl(text: string, source: string): QaItem[] {
  const items: QaItem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const where = `${source}:${i + 1}`;
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
    const item: QaItem = { question: text('question', true)!, answer: text('answer', true)! };
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
export function readQaJsonl(file: FileRef): QaItem[] {
  return parseQaJsonl(readText(file), describeFile(file));
}

/**
 * How a plain text file splits into documents: 'lines' — each non-blank line is one document
 * (blank lines are skipped); 'whole' — the whole file is one document.
 */
export type TextSplit = 'lines' | 'whole';

/** Reads a plain text set (MUSE-style forget/retain text), split per `split` (default 'lines'). */
export function readTextSet(file: FileRef, options: { split?: TextSplit } = {}): string[] {
  const source = describeFile(file);
  const text = readText(file);
  const split = options.split ?? 'lines';
  let documents: string[];
  if (split === 'lines') documents = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  else if (split === 'whole') documents = text.trim() === '' ? [] : [text];
  else throw new LetheError(`${source}: unknown text split "${String(split)}" (known: lines, whole)`);
  if (documents.length === 0) throw new LetheError(`${source}: no documents (the file is empty)`);
  return documents;
}
