// The demo's headline: summary.json (one row per model: forget quality, model utility, forget
// Prob, and forget Prob after each attack; per method its seeds' rows, their mean ± sd and how
// many seeds pass) and the same as a table on the terminal.

import { join } from 'node:path';
import { passesInKOfN, summariseSeeds, type SeedSummary } from '../../eval/stats/seeds.ts';
import { writeFileAtomic } from '../../models/formats/write-file-atomic.ts';
import type { Results } from '../../results/schema.ts';
import { LETHE_VERSION } from '../../version.ts';

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

/** The version of OUT/summary.json. */
export const DEMO_SUMMARY_SCHEMA = 'lethe.demo-summary/1';

/** The headline's rule: forgot (forget quality ≥ 0.05: the KS test cannot tell the model from the retain model) … */
export const FORGOT_AT = 0.05;
/** … while keeping at least this share of the target's model utility. */
export const KEEPS_UTILITY = 0.8;

/** One method over its unlearning seeds. */
export interface MethodSeeds {
  name: string;
  seeds: number[];
  /** Seed i's row (its run is named `name` for the first seed, `name-seed-K` for the others). */
  runs: (SummaryRow & { seed: number; pass: boolean })[];
  forget_quality: SeedSummary;
  model_utility: SeedSummary;
  forget_prob: SeedSummary;
  attacks: { relearn: SeedSummary; quantize_4bit: SeedSummary; prompts: SeedSummary };
  /** Seeds passing the headline's rule (forget quality ≥ 0.05 and model utility ≥ 80% of the target's). */
  passes: { passes: number; runs: number; all: boolean };
}

export interface Summary {
  schema?: typeof DEMO_SUMMARY_SCHEMA;
  /** The demo's --seed (training of target and retain, the first unlearning seed, the attacks). */
  seed?: number;
  /** The unlearning seeds of every method. */
  seeds?: number[];
  /** The headline's rule, in words. */
  rule?: string;
  /** The target, the retain model, each method's first seed, the baseline. */
  models: SummaryRow[];
  methods?: MethodSeeds[];
  createdAt?: string;
  lethe?: string;
}

/** Whether a run passes the headline's rule against the target's model utility `targetUtility`. */
export function passesRule(row: SummaryRow, targetUtility: number | null): boolean {
  return row.forget_quality !== null && row.forget_quality >= FORGOT_AT && targetUtility !== null && row.model_utility !== null && row.model_utility >= KEEPS_UTILITY * targetUtility;
}

/** A method's rows over its seeds → their mean ± sd and k of N under the headline's rule. */
export function methodSeeds(name: string, seeds: number[], rows: SummaryRow[], targetUtility: number | null): MethodSeeds {
  const runs = rows.map((r, i) => ({ ...r, seed: seeds[i], pass: passesRule(r, targetUtility) }));
  const over = (f: (r: SummaryRow) => number | null, pass?: (v: number) => boolean) => summariseSeeds(runs.map(f), pass);
  return {
    name, seeds, runs,
    forget_quality: over((r) => r.forget_quality, (v) => v >= FORGOT_AT),
    model_utility: over((r) => r.model_utility, targetUtility === null ? undefined : (v) => v >= KEEPS_UTILITY * targetUtility),
    forget_prob: over((r) => r.forget_prob),
    attacks: { relearn: over((r) => r.attacks.relearn), quantize_4bit: over((r) => r.attacks.quantize_4bit), prompts: over((r) => r.attacks.prompts) },
    passes: passesInKOfN(runs.map((r) => r.pass)),
  };
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

export async function writeSummary(out: string, rows: SummaryRow[], seeds?: { seed: number; seeds: number[]; methods: MethodSeeds[] }): Promise<string> {
  const path = join(out, 'summary.json');
  const summary: Summary = {
    schema: DEMO_SUMMARY_SCHEMA,
    ...(seeds ? { seed: seeds.seed, seeds: seeds.seeds } : {}),
    rule: `forget quality ≥ ${FORGOT_AT} and model utility ≥ ${KEEPS_UTILITY * 100}% of the target's, in every seed of the method`,
    models: rows,
    ...(seeds ? { methods: seeds.methods } : {}),
    createdAt: new Date().toISOString(),
    lethe: LETHE_VERSION,
  };
  await writeFileAtomic(path, `${JSON.stringify(summary, null, 2)}\n`);
  return path;
}

const cell = (x: number | null) => (x === null ? 'n/a' : x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(1) : x.toFixed(3));
/** "0.266 [0.110, 0.520]": the value and its 95% bootstrap interval. */
const withInterval = (x: number | null, b: [number, number] | undefined) => (x === null || !b ? cell(x) : `${cell(x)} [${cell(b[0])}, ${cell(b[1])}]`);

/** "0.266 ± 0.041": mean ± sd over seeds (the mean alone below two available values). */
const meanSd = (s: SeedSummary) => (s.mean === null ? 'n/a' : s.sd === null ? cell(s.mean) : `${cell(s.mean)} ± ${cell(s.sd)}`);

/**
 * The summary as an aligned text table; `seconds` is each model's training or unlearning time.
 * With `methods` run over several seeds, a method's row shows mean ± sd over its seeds (the
 * others, one run each, their 95% intervals) and how many seeds pass the headline's rule.
 */
export function summaryTable(rows: readonly SummaryRow[], seconds: Readonly<Record<string, number | null>>, methods: readonly MethodSeeds[] = []): string {
  const several = methods.some((m) => m.seeds.length > 1);
  const byName = new Map(methods.map((m) => [m.name, m]));
  const secs = (name: string) => (seconds[name] === null || seconds[name] === undefined ? '-' : seconds[name]!.toFixed(1));
  const head = several
    ? ['model', 'forget quality [95% CI] or mean ± sd', 'model utility [95% CI] or mean ± sd', 'forget Prob [95% CI] or mean ± sd', 'n', 'passes', 'after relearn', 'after 4-bit', 'after prompts', 'train s']
    : ['model', 'forget quality [95% CI]', 'model utility [95% CI]', 'forget Prob [95% CI]', 'n', 'after relearn', 'after 4-bit', 'after prompts', 'train s'];
  const body = rows.map((r) => {
    const m = several ? byName.get(r.name) : undefined;
    if (m) {
      const mean = (k: keyof MethodSeeds['attacks']) => meanSd(m.attacks[k]);
      const s = m.runs.map((x) => seconds[x.seed === m.seeds[0] ? m.name : `${m.name}-seed-${x.seed}`]).filter((x): x is number => typeof x === 'number');
      return [r.name, meanSd(m.forget_quality), meanSd(m.model_utility), meanSd(m.forget_prob), r.n === undefined ? '-' : String(r.n),
        `${m.passes.passes}/${m.passes.runs}`, mean('relearn'), mean('quantize_4bit'), mean('prompts'), s.length ? (s.reduce((a, x) => a + x, 0) / s.length).toFixed(1) : '-'];
    }
    return [
      r.name, withInterval(r.forget_quality, r.intervals?.forget_quality), withInterval(r.model_utility, r.intervals?.model_utility), withInterval(r.forget_prob, r.intervals?.forget_prob),
      r.n === undefined ? '-' : String(r.n),
      ...(several ? [byName.has(r.name) ? `${byName.get(r.name)!.passes.passes}/1` : '-'] : []),
      cell(r.attacks.relearn), cell(r.attacks.quantize_4bit), cell(r.attacks.prompts), secs(r.name),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
