// The demo's headline: summary.json (one row per model: forget quality, model utility, forget
// Prob, and forget Prob after each attack) and the same as a table on the terminal.

import { join } from 'node:path';
import { writeFileAtomic } from '../../models/formats/write-file-atomic.ts';
import type { Results } from '../../results/schema.ts';

export interface SummaryRow {
  name: string;
  forget_quality: number | null;
  model_utility: number | null;
  forget_prob: number | null;
  /** Forget Prob after each attack; prompts: the mean over items of the best prompt attack's. */
  attacks: { relearn: number | null; quantize_4bit: number | null; prompts: number | null };
}

export interface Summary {
  models: SummaryRow[];
}

const finiteOrNull = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

export function summaryRow(results: Results): SummaryRow {
  const tofu = results.metrics.tofu ?? {};
  const after = (name: string) => finiteOrNull(results.attacks?.[name]?.after.forgetProb);
  return {
    name: results.model.name,
    forget_quality: finiteOrNull(tofu.forgetQuality?.value),
    model_utility: finiteOrNull(tofu.modelUtility?.value),
    forget_prob: finiteOrNull(tofu.forgetProb?.value),
    attacks: { relearn: after('relearn'), quantize_4bit: after('quantize_4bit'), prompts: after('prompts.max') },
  };
}

export async function writeSummary(out: string, rows: SummaryRow[]): Promise<string> {
  const path = join(out, 'summary.json');
  await writeFileAtomic(path, `${JSON.stringify({ models: rows } satisfies Summary, null, 2)}\n`);
  return path;
}

const cell = (x: number | null) => (x === null ? 'n/a' : x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(1) : x.toFixed(3));

/** The summary as an aligned text table; `seconds` is each model's training or unlearning time. */
export function summaryTable(rows: readonly SummaryRow[], seconds: Readonly<Record<string, number | null>>): string {
  const head = ['model', 'forget quality', 'model utility', 'forget Prob', 'after relearn', 'after 4-bit', 'after prompts', 'train s'];
  const body = rows.map((r) => [
    r.name, cell(r.forget_quality), cell(r.model_utility), cell(r.forget_prob),
    cell(r.attacks.relearn), cell(r.attacks.quantize_4bit), cell(r.attacks.prompts),
    seconds[r.name] === null || seconds[r.name] === undefined ? '-' : seconds[r.name]!.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
