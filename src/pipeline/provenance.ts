// What an evaluation evaluated, recorded in results.json (`evaluated`) so that numbers are
// compared only between results on the same data: the sha256 of every data source, the split
// names, the prompt template, the tokenizer and the model weights. Forget quality and PrivLeak
// against --retain-results, and the report's tables, check these before comparing.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { LetheError } from '../engine/errors.ts';
import type { QaItem, TextItem } from '../data/qa-dataset.ts';
import { widenWeight, type Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import type { Evaluated, Results } from '../results/schema.ts';

export type DataRecord = Evaluated['data'][string];

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/**
 * The record of one evaluated set: `source` (a file, or "tofu:SPLIT" for a shipped split) and the
 * sha256 of the items as evaluated (text; question and answer, and perturbed answers when
 * present), so the same items from another path compare equal and a --limit cut does not.
 */
export function dataRecord(source: string, items: readonly (QaItem | TextItem | string)[]): DataRecord {
  const content = items.map((i) => (typeof i === 'string' ? i : 'text' in i ? i.text : [i.question, i.answer, ...(i.paraphrasedAnswer !== undefined ? [i.paraphrasedAnswer] : []), ...(i.perturbedAnswers ?? [])]));
  return { source, sha256: sha256(JSON.stringify(content)), items: items.length };
}

/** sha256 of the tokenizer's file (tokenizer.json, or llama2.c's tokenizer.bin), or undefined when it has none. */
export function tokenizerHash(tokenizer: Tokenizer): string | undefined {
  const file = tokenizer.source;
  return existsSync(file) && statSync(file).isFile() ? sha256(readFileSync(file)) : undefined;
}

/**
 * sha256 of the model's weights as loaded: each parameter's name, dtype, shape and bytes, in
 * name order (independent of the file layout: shards, safetensors or llama2.c give one hash).
 */
export function weightsHash(model: Model): string {
  const hash = createHash('sha256');
  for (const name of [...model.params.keys()].sort()) {
    // A weight kept at bfloat16/float16 hashes as its (exact) float32 widening: the same model
    // has one hash at either precision.
    const t = widenWeight(model.params.get(name)!);
    hash.update(`${name}\u0000${t.dtype}\u0000${t.shape.join(',')}\u0000`);
    hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return hash.digest('hex');
}

/**
 * Checks that `theirs` (a reference's results, `file`) evaluated the same `sets` as `ours`, with
 * the same template and tokenizer. Throws LetheError naming the file and the first field that
 * differs (`evaluated.data.forget.sha256`), or that it has no record of what it evaluated.
 */
export function checkSameEvaluation(ours: Evaluated, theirs: Results, file: string, sets: readonly string[], use: string): void {
  const other = theirs.evaluated;
  const why = `${use} compares results only on the same evaluated data`;
  if (!other) throw new LetheError(`${file}: evaluated: missing (the file does not record what it evaluated; evaluate it again with this lethe); ${why}`);
  const differ = (field: string, a: unknown, b: unknown) =>
    new LetheError(`${file}: ${field} is ${JSON.stringify(b ?? null)} but this evaluation has ${JSON.stringify(a ?? null)}; ${why}`);
  for (const set of sets) {
    const a = ours.data[set];
    const b = other.data[set];
    if (!a && !b) continue;
    if (!a || !b) throw differ(`evaluated.data.${set}`, a?.source, b?.source);
    if (a.sha256 !== b.sha256) throw new LetheError(`${file}: evaluated.data.${set}.sha256 differs (${b.source}, ${b.items} items, against this evaluation's ${a.source}, ${a.items} items); ${why}`);
  }
  for (const field of ['template', 'tokenizer'] as const) {
    if (ours[field] !== undefined && other[field] !== undefined && ours[field] !== other[field]) throw differ(`evaluated.${field}`, ours[field], other[field]);
  }
}

/** The warning for a reference whose role is not `retain` (forget quality against itself reads 1.0). */
export function referenceRoleWarning(file: string, results: Results): string | null {
  if (results.role === 'retain') return null;
  return `${file}: its role is ${results.role ?? 'not recorded'}, not retain: forget quality and PrivLeak against it do not measure forgetting against a model that never saw the forget set`;
}
