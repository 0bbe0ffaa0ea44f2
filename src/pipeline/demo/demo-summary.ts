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
  /** The 95% bootstrap interval [lower, upper] of each headline metric, when it has one. */
  intervals?: { forget_quality?: [number, number]; model_utility?: [number, number]; forget_prob?: [number, number] };
  /** Forget items the forget quality and forget Prob were computed on. */
  n?: number;
}

export interface Summary {
  models: SummaryRow[];
}

const finiteOrNull = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

type MetricValue = Results['metrics'][string][string];

/** [lower, upper] of a metric's interval, or undefined without one. */
function bounds(m: MetricValue | undefined): [number, number] | undefined {
  return m?.value !== null && m?.interval && 'lower' in m.interval ? [m.interval.lower, m.interval.upper] : undefined;
}

export function summaryRow(results: Results): SummaryRow {
  const tofu = results.metrics.tofu ?? {};
  const after = (name: string) => finiteOrNull(results.attacks?.[name]?.after.forgetProb);
  const intervals = Object.fromEntries(
    ([['forget_quality', tofu.forgetQuality], ['model_utility', tofu.modelUtility], ['forget_prob', tofu.forgetProb]] as const)
      .map(([k, m]) => [k, bounds(m)] as const)
      .filter(([, b]) => b !== undefined),
  ) as NonNullable<SummaryRow['intervals']>;
  const n = tofu.forgetProb?.n ?? tofu.forgetQuality?.n;
  return {
    name: results.model.name,
    forget_quality: finiteOrNull(tofu.forgetQuality?.value),
    model_utility: finiteOrNull(tofu.modelUtility?.value),
    forget_prob: finiteOrNull(tofu.forgetProb?.value),
    attacks: { relearn: after('relearn'), quantize_4bit: after('quantize_4bit'), prompts: after('prompts.max') },
    ...(Object.keys(intervals).length ? { intervals } : {}),
    ...(n !== undefined ? { n } : {}),
  };
}

export async function writeSummary(out: string, rows: SummaryRow[]): Promise<string> {
  const path = join(out, 'summary.json');
  await writeFileAtomic(path, `${JSON.stringify({ models: rows } satisfies Summary, null, 2)}\n`);
  return path;
}

const cell = (x: number | null) => (x === null ? 'n/a' : x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(1) : x.toFixed(3));
/** "0.266 [0.110, 0.520]": the value and its 95% bootstrap interval. */
const withInterval = (x: number | null, b: [number, number] | undefined) => (x === null || !b ? cell(x) : `${cell(x)} [${cell(b[0])}, ${cell(b[1])}]`);

/** The summary as an aligned text table; `seconds` is each model's training or unlearning time. */
export function summaryTable(rows: readonly SummaryRow[], seconds: Readonly<Record<string, number | null>>): string {
  const head = ['model', 'forget quality [95% CI]', 'model utility [95% CI]', 'forget Prob [95% CI]', 'n', 'after relearn', 'after 4-bit', 'after prompts', 'train s'];
  const body = rows.map((r) => [
    r.name, withInterval(r.forget_quality, r.intervals?.forget_quality), withInterval(r.model_utility, r.intervals?.model_utility), withInterval(r.forget_prob, r.intervals?.forget_prob),
    r.n === undefined ? '-' : String(r.n),
    cell(r.attacks.relearn), cell(r.attacks.quantize_4bit), cell(r.attacks.prompts),
    seconds[r.name] === null || seconds[r.name] === undefined ? '-' : seconds[r.name]!.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
