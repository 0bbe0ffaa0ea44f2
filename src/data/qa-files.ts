// A user's own TOFU-format question/answer files (`lethe eval --benchmark qa --forget-qa FILE
// --retain-qa FILE [--holdout-qa FILE]`): JSON arrays or JSON Lines of items with `question`,
// `answer`, and for the truth ratio `paraphrased_answer` and `perturbed_answer` (a list of wrong
// answers); optionally `paraphrased_question`, `original_answer` and `name` (the person the item
// is about), as TOFU and the published follow-ups that ship real people in TOFU's format write
// them. Items without perturbed answers are allowed (they get the metrics that need none); the
// report lists them. Every error names file:line.
import { LetheError } from '../engine/errors.ts';
import { parseJsonRecords, readTextFile, stringField, stringListField, type JsonRecord } from './json-records.ts';
import type { QaItem } from './qa-dataset.ts';

/** A question/answer item of a user's file, with the person it is about and where it is. */
export interface QaFileItem extends QaItem {
  /** The person (or record) the item is about, when the file names one. */
  name?: string;
  /** `file:line` where the item starts. */
  where: string;
}

/** What a QA file holds, and which items lack what the truth ratio needs. */
export interface QaFile {
  file: string;
  items: QaFileItem[];
  /** file:line of the items with no perturbed answers (no truth ratio, no forget quality for them). */
  withoutPerturbed: string[];
  /** file:line of the items with no paraphrased answer (the truth ratio then has no â). */
  withoutParaphrased: string[];
}

function nonEmpty(r: JsonRecord, field: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new LetheError(`${r.where}: field "${field}" is empty`);
  return value;
}

function itemFromRecord(r: JsonRecord): QaFileItem {
  const item: QaFileItem = {
    question: nonEmpty(r, 'question', stringField(r, 'question', true))!,
    answer: nonEmpty(r, 'answer', stringField(r, 'answer', true))!,
    where: r.where,
    source: { file: r.source, line: r.line },
  };
  const optional: [keyof QaFileItem, string][] = [
    ['paraphrasedQuestion', 'paraphrased_question'],
    ['paraphrasedAnswer', 'paraphrased_answer'],
    ['originalAnswer', 'original_answer'],
    ['name', 'name'],
  ];
  for (const [key, field] of optional) {
    const value = nonEmpty(r, field, stringField(r, field, false));
    if (value !== undefined) (item as unknown as Record<string, string>)[key] = value;
  }
  const perturbed = stringListField(r, 'perturbed_answer', false);
  if (perturbed !== undefined) {
    const empty = perturbed.findIndex((p) => p.trim() === '');
    if (empty >= 0) throw new LetheError(`${r.where}: field "perturbed_answer" element ${empty} is empty`);
    if (perturbed.length > 0) item.perturbedAnswers = perturbed;
  }
  return item;
}

/** Parses a TOFU-format QA file's text (JSON array or JSON Lines); `source` names it in errors. */
export function parseQaFile(text: string, source: string): QaFile {
  const items = parseJsonRecords(text, source).map(itemFromRecord);
  return {
    file: source,
    items,
    withoutPerturbed: items.filter((i) => !i.perturbedAnswers?.length).map((i) => i.where),
    withoutParaphrased: items.filter((i) => i.paraphrasedAnswer === undefined).map((i) => i.where),
  };
}

/** Reads a TOFU-format QA file (JSON array or JSON Lines). */
export function readQaFile(file: string): QaFile {
  return parseQaFile(readTextFile(file), file);
}

/**
 * Refuses sets that share a question (a forget item also in the retain or holdout set would
 * make every comparison between them meaningless): a LetheError naming both places.
 */
export function assertDisjointQaFiles(files: readonly QaFile[]): void {
  const seen = new Map<string, string>();
  for (const f of files) {
    const own = new Set<string>();
    for (const item of f.items) {
      const key = item.question.trim();
      const first = seen.get(key);
      if (first !== undefined && !own.has(key)) throw new LetheError(`${item.where}: the question also appears at ${first}; the sets must not overlap`);
      own.add(key);
      if (first === undefined) seen.set(key, item.where);
    }
  }
}
