// Shared items between sets that must be disjoint (forget, retain, holdout, evaluation sets,
// TOFU splits). Unlearning that ascends and descends the same item, or a membership test whose
// non-members are members, measures nothing; so overlap is found before anything runs.
// Text items are the same when equal after whitespace normalisation (runs of whitespace → one
// space, ends trimmed); question/answer items when both the question and the answer are (other
// fields, e.g. perturbed answers, are ignored). Items of different kinds are never compared.
import { LetheError } from '../engine/errors.ts';
import type { ItemSource, QaItem, TextItem } from './qa-dataset.ts';

/** One set to check: its role name (e.g. "forget", "retain", "holdout") and its items. */
export interface NamedSet {
  name: string;
  /** Question/answer items, text items, or plain strings (named by position). */
  items: readonly (QaItem | TextItem | string)[];
}

/** Where a shared item is in one set. */
export interface OverlapOccurrence {
  /** The set's name. */
  set: string;
  /** Position in the set's items (0-based). */
  index: number;
  /** "file:line", or "<set> item N" (1-based) without a source. */
  where: string;
  source?: ItemSource;
}

/** The items two sets share. */
export interface SetOverlap {
  /** The two sets' names, in the order given. */
  sets: [string, string];
  /** How many distinct items of the first set also occur in the second. */
  count: number;
  /** Each shared item: its first occurrence in each set, in the first set's order, and its text (a QA item's question). */
  items: { first: OverlapOccurrence; second: OverlapOccurrence; text: string }[];
}

/** Whitespace normalisation: runs of whitespace become one space, the ends are trimmed. */
export function normaliseWhitespace(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

function keyOf(item: QaItem | TextItem | string): { key: string; text: string; source?: ItemSource } {
  if (typeof item === 'string') return { key: `t\u0000${normaliseWhitespace(item)}`, text: item };
  if ('question' in item) {
    const q = normaliseWhitespace(item.question);
    const a = normaliseWhitespace(item.answer);
    return { key: `q\u0000${q}\u0000${a}`, text: q, source: item.source };
  }
  return { key: `t\u0000${normaliseWhitespace(item.text)}`, text: item.text, source: item.source };
}

/** Every pair of sets (in the order given) that shares items, with the shared items. */
export function findOverlaps(sets: readonly NamedSet[]): SetOverlap[] {
  const names = new Set<string>();
  for (const set of sets) {
    if (names.has(set.name)) throw new LetheError(`two sets are both named "${set.name}"; overlap checks need distinct names`);
    names.add(set.name);
  }
  // Per set: each distinct key → its first occurrence.
  const indexed = sets.map((set) => {
    const first = new Map<string, { occurrence: OverlapOccurrence; text: string }>();
    set.items.forEach((item, index) => {
      const { key, text, source } = keyOf(item);
      if (first.has(key)) return;
      const occurrence: OverlapOccurrence = { set: set.name, index, where: source ? `${source.file}:${source.line}` : `${set.name} item ${index + 1}` };
      if (source) occurrence.source = source;
      first.set(key, { occurrence, text });
    });
    return first;
  });
  const overlaps: SetOverlap[] = [];
  for (let i = 0; i < sets.length; i++) {
    for (let j = i + 1; j < sets.length; j++) {
      const [small, large] = indexed[i].size <= indexed[j].size ? [indexed[i], indexed[j]] : [indexed[j], indexed[i]];
      const shared: SetOverlap['items'] = [];
      for (const [key, entry] of small) {
        const other = large.get(key);
        if (!other) continue;
        const [a, b] = small === indexed[i] ? [entry, other] : [other, entry];
        shared.push({ first: a.occurrence, second: b.occurrence, text: a.text });
      }
      if (shared.length === 0) continue;
      shared.sort((x, y) => x.first.index - y.first.index);
      overlaps.push({ sets: [sets[i].name, sets[j].name], count: shared.length, items: shared });
    }
  }
  return overlaps;
}

const preview = (text: string) => (text.length > 60 ? `${text.slice(0, 57)}...` : text);

/** The one-line message for an overlap: the first shared item in both files and lines, and the count. */
export function describeOverlap(overlap: SetOverlap): string {
  const [{ first, second, text }] = overlap.items;
  const [a, b] = overlap.sets;
  const more = overlap.count > 1 ? ` (${overlap.count} items are shared; this is the first)` : '';
  return `${first.where} (${a}) and ${second.where} (${b}) hold the same item "${preview(text)}"${more}`;
}

/**
 * Checks that `sets` share no item. Returns the overlaps found (empty when none). With overlaps,
 * a LetheError naming both files and lines of the first shared item of the first overlapping pair,
 * unless `allowOverlap`; `hint` is appended to the message (e.g. how to run anyway).
 */
export function checkDisjoint(sets: readonly NamedSet[], options: { allowOverlap?: boolean; hint?: string } = {}): SetOverlap[] {
  const overlaps = findOverlaps(sets);
  if (overlaps.length > 0 && !options.allowOverlap) {
    const others = overlaps.length > 1 ? `; also ${overlaps.slice(1).map((o) => `${o.sets[0]}/${o.sets[1]} (${o.count})`).join(', ')}` : '';
    throw new LetheError(`${describeOverlap(overlaps[0])}${others}; the sets must not overlap${options.hint ? ` (${options.hint})` : ''}`);
  }
  return overlaps;
}
