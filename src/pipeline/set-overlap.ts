// Disjoint sets for every command that takes several (forget, retain, holdout, the evaluation
// sets, TOFU splits): shared items stop the command (exit 2, both files and lines named) unless
// --allow-overlap, and then the overlap is recorded in results.json and the metrics it
// invalidates are written as unavailable with the reason.

import { checkDisjoint, type NamedSet, type SetOverlap } from '../data/overlap.ts';
import type { PromptPair } from '../data/templates.ts';
import { unavailable, type MetricResult } from '../eval/metrics/metric-result.ts';
import type { OverlapRecord } from '../results/schema.ts';

export const ALLOW_OVERLAP_HINT = '--allow-overlap runs anyway and records the overlap';

/**
 * Checks `sets` for shared items (src/data/overlap.ts: text after whitespace normalisation, QA
 * items by question and answer). Throws LetheError naming both files and lines unless
 * `allowOverlap`; returns the overlaps as results.json records (empty when none).
 */
export function checkSets(sets: readonly NamedSet[], allowOverlap = false): OverlapRecord[] {
  return checkDisjoint(sets.filter((s) => s.items.length > 0), { allowOverlap, hint: ALLOW_OVERLAP_HINT }).map(overlapRecord);
}

/** An overlap as results.json holds it (the occurrences without their parsed source objects). */
export function overlapRecord(o: SetOverlap): OverlapRecord {
  const at = (x: SetOverlap['items'][number]['first']) => ({ set: x.set, index: x.index, where: x.where });
  return { sets: [o.sets[0], o.sets[1]], count: o.count, items: o.items.map((i) => ({ first: at(i.first), second: at(i.second), text: i.text })) };
}

/**
 * Training pairs as items to compare: a pair made from a QA item compares by its prompt and
 * target (one template for both sets, so equal prompt and target mean equal question and
 * answer), a text document by its text.
 */
export function pairItems(pairs: readonly PromptPair[]): NamedSet['items'] {
  return pairs.map((p): NamedSet['items'][number] => {
    if (p.prompt === '') return p.source ? { text: p.target, source: p.source } : p.target;
    return p.source ? { question: p.prompt, answer: p.target, source: p.source } : { question: p.prompt, answer: p.target };
  });
}

/** One line per overlap, for stderr: "forget/retain share 2 items (first: a.jsonl:1 and b.jsonl:4)". */
export function overlapWarning(o: OverlapRecord): string {
  return `${o.sets[0]} and ${o.sets[1]} share ${o.count} item${o.count === 1 ? '' : 's'} (first: ${o.items[0].first.where} and ${o.items[0].second.where}); run with --allow-overlap`;
}

/**
 * The metrics an overlap invalidates, made unavailable in place: forget and holdout sharing
 * items turns the members/non-members split of every forget-vs-holdout membership AUC into
 * members against members (an AUC near 0.5 that reads as "nothing leaks"), and PrivLeak with it.
 */
export function invalidateByOverlap(metrics: Record<string, Record<string, MetricResult>>, overlaps: readonly OverlapRecord[]): void {
  const holdout = overlaps.find((o) => o.sets.includes('forget') && o.sets.includes('holdout'));
  if (!holdout || !metrics.mia) return;
  const reason = `the forget and holdout sets share ${holdout.count} item${holdout.count === 1 ? '' : 's'} (first: ${holdout.items[0].first.where} and ${holdout.items[0].second.where}); a membership AUC needs non-members that are not members`;
  for (const name of Object.keys(metrics.mia)) {
    if (name.endsWith('Auc') || name === 'privLeak') metrics.mia[name] = unavailable(`${name}: ${reason}`);
  }
}
