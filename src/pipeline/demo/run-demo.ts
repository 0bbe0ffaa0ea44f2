// The demo (`lethe demo`): the whole story on a small TOFU case, on a CPU, in minutes. A model learns some
// fictitious authors; several methods make it forget two of them; each result is measured
// (forget quality, model utility, membership inference, memorisation, cost) and attacked
// (relearning, 4-bit weights, paraphrased and jailbreak prompts). Writes OUT/report.html,
// OUT/summary.json and a table on the terminal. The target and retain models are reused when
// OUT/case.json says they were made from the same case (--fresh trains them again).

import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { lockRunFolder } from '../../io/run-lock.ts';
import { guardrail, tofuAuthorNames } from '../../attacks/baselines.ts';
import { LetheError } from '../../engine/errors.ts';
import type { Results } from '../../results/schema.ts';
import { writeReport } from '../../report/report.ts';
import { demoData, FULL_PLAN, QUICK_PLAN } from './demo-case.ts';
import { attackRun, evaluateRun, measureRun, referenceFrom, type DemoContext, type DemoRun } from './demo-evaluate.ts';
import { DEMO_BASELINE, DEMO_METHODS, runMethod } from './demo-methods.ts';
import { CASE_FILE, caseModels } from './demo-models.ts';
import { methodSeeds, summaryRow, summaryTable, writeSummary, FORGOT_AT, KEEPS_UTILITY, type MethodSeeds, type SummaryRow } from './demo-summary.ts';
import { silentProgress, type ProgressFactory } from '../progress.ts';

export interface DemoOptions {
  /** The folder for the runs, report.html and summary.json (new, empty, or an earlier demo's). */
  out: string;
  /** The smaller case and shorter training. */
  quick: boolean;
  /** Train the target and retain models again even when `out` holds them. */
  fresh: boolean;
  /** Seeds the training of the target and retain models (and their data order), the unlearning and the attacks (default 1). */
  seed?: number;
  /** Each method's unlearning is repeated with seeds seed, seed + 1, … (default 1 run). */
  seeds?: number;
  /** One line per stage and step of the story (default: silent). */
  say?: (line: string) => void;
  /** Training progress displays (default: silent). */
  progress?: ProgressFactory;
}

export interface DemoOutcome {
  /** The summary table as printed by `lethe demo`. */
  table: string;
  /** What the table says, in words. */
  headline: string;
  report: string;
  summary: string;
}

/** The demo writes only into a new or empty folder, or one an earlier demo wrote. */
export function checkDemoFolder(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new LetheError(`--out ${out}: is a file; give a folder for the demo's runs`);
  if (readdirSync(out).filter((n) => !n.startsWith('.lethe-')).length > 0 && !existsSync(join(out, CASE_FILE))) {
    throw new LetheError(`--out ${out}: holds files that are not a lethe demo's (no ${CASE_FILE}); choose a new or empty folder`);
  }
}

/**
 * What both demo cases do first: check and lock the folder (creating it), and the stage lines
 * "(k/stages) …" through `o.say`. Throws LetheError as checkDemoFolder.
 */
export async function startDemo(o: DemoOptions, stages: number): Promise<{ say: (line: string) => void; progress: ProgressFactory; next: (what: string) => void }> {
  checkDemoFolder(o.out);
  await lockRunFolder(o.out, 'lethe demo'); // one demo per folder (src/io/run-lock.ts); creates it
  const say = o.say ?? (() => {});
  let stage = 0;
  return { say, progress: o.progress ?? silentProgress, next: (what) => say(`(${++stage}/${stages}) ${what}`) };
}

/** The demo's default --seed. */
export const DEMO_SEED = 1;

/**
 * Runs the demo into `o.out`: trains the case's target and retain models (or reuses them) with
 * `o.seed`, unlearns with every demo method (`o.seeds` times, seeds o.seed, o.seed + 1, …),
 * measures and attacks each, writes report.html and summary.json (`lethe.demo-summary/1`: per
 * model its numbers; per method its seeds' numbers, mean ± sd and how many seeds pass the
 * headline's rule). Throws LetheError when `out` holds files that are not a demo's, or for a
 * seed that is not an integer or a number of seeds below 1.
 */
export async function demo(o: DemoOptions): Promise<DemoOutcome> {
  const seed = o.seed ?? DEMO_SEED;
  const n = o.seeds ?? 1;
  if (!Number.isSafeInteger(seed)) throw new LetheError(`--seed: expected an integer, got ${o.seed}`);
  if (!Number.isSafeInteger(n) || n < 1) throw new LetheError(`--seeds: expected an integer ≥ 1, got ${o.seeds}`);
  const base = o.quick ? QUICK_PLAN : FULL_PLAN;
  const plan = { ...base, case: { ...base.case, training: { ...base.case.training, seed } } };
  const c = plan.case;
  const seeds = Array.from({ length: n }, (_, i) => seed + i);
  const { say, progress, next } = await startDemo(o, 5);

  next(`the case: TOFU, ${c.authors} fictitious authors of which ${c.forgetAuthors} ${c.forgetAuthors === 1 ? 'is' : 'are'} to be forgotten, plus ${c.worldItems} real-author and ${c.worldItems} world-fact questions as the model's world knowledge${o.quick ? ' (quick)' : ''}; seed ${seed}${n > 1 ? `, unlearning seeds ${seeds[0]}…${seeds[n - 1]}` : ''}`);
  const data = demoData(c);
  const models = await caseModels(o.out, c, data, { fresh: o.fresh, say, progress });
  const ctx: DemoContext = { tokenizer: models.tokenizer, data, plan, seed, say };

  next('measuring the retain model (never saw the forget authors: the reference) and the target model (saw everything), then attacking both');
  const retainRun: DemoRun = { name: 'retain', role: 'retain', model: models.retain.model, runDir: models.retain.runDir, modelDir: models.retain.modelDir, loop: models.retain.loop };
  const targetRun: DemoRun = { name: 'target', role: 'target', model: models.target.model, runDir: models.target.runDir, modelDir: models.target.modelDir, loop: models.target.loop };
  const retainMeasured = await measureRun(retainRun, ctx, referenceFrom(null, null));
  const targetMeasured = await measureRun(targetRun, ctx, referenceFrom(retainMeasured.metrics, null));
  const ref = referenceFrom(retainMeasured.metrics, targetMeasured.metrics);
  const results: Results[] = [await attackRun(targetRun, ctx, ref, targetMeasured), await attackRun(retainRun, ctx, ref, retainMeasured)];
  const seconds: Record<string, number | null> = { target: models.target.loop?.wallSeconds ?? null, retain: models.retain.loop?.wallSeconds ?? null };

  const planned = plan.methods ? DEMO_METHODS.filter((m) => plan.methods!.includes(m.name)) : DEMO_METHODS;
  next(`unlearning the forget authors from the target with ${planned.length} methods${n > 1 ? `, ${n} seeds each` : ''}, measuring and attacking each`);
  const targetUtility = summaryRow(results[0]).model_utility;
  const methods: MethodSeeds[] = [];
  const extraRuns: Results[] = [];
  for (const [i, m] of planned.entries()) {
    say(`[${i + 1}/${planned.length}] ${m.name}: ${m.summary} (lr ${m.lr}, ${m.epochs} epochs${n > 1 ? `, seeds ${seeds.join(', ')}` : ''})`);
    const rows: SummaryRow[] = [];
    for (const [k, s] of seeds.entries()) {
      // The first seed's run is OUT/<method> (as with one seed); the others OUT/<method>-seed-K.
      const name = k === 0 ? m.name : `${m.name}-seed-${s}`;
      const u = await runMethod(o.out, m, models.target.model, models.tokenizer, data, s, progress, name);
      seconds[name] = u.loop.wallSeconds;
      const r = await evaluateRun({ name, role: 'unlearned', model: u.model, runDir: u.runDir, modelDir: u.modelDir, loop: u.loop }, ctx, ref);
      (k === 0 ? results : extraRuns).push(r);
      rows.push(summaryRow(r));
    }
    methods.push(methodSeeds(m.name, seeds, rows, targetUtility));
    if (n > 1) say(`  ${m.name} over ${n} seeds: forget quality ≥ ${FORGOT_AT} at ≥ ${KEEPS_UTILITY * 100}% of the target's model utility in ${methods.at(-1)!.passes.passes} of ${n}`);
  }

  next(`the input-based baseline: ${DEMO_BASELINE.name}, ${DEMO_BASELINE.summary} (no weight changes)`);
  const baseline = guardrail({ template: data.template, topics: tofuAuthorNames(data.sets.forget) });
  const baselineDir = join(o.out, DEMO_BASELINE.name);
  await mkdir(baselineDir, { recursive: true });
  results.push(await evaluateRun({ name: DEMO_BASELINE.name, role: 'baseline', model: models.target.model, baseline, runDir: baselineDir, modelDir: models.target.modelDir, loop: null }, ctx, ref));
  seconds[DEMO_BASELINE.name] = 0;

  next('writing the report and the summary');
  const report = await writeReport([...results, ...extraRuns].map((r) => join(o.out, r.model.name)), join(o.out, 'report.html'));
  const rows = results.map(summaryRow);
  const summary = await writeSummary(o.out, rows, { seed, seeds, methods });
  return { table: summaryTable(rows, seconds, methods), headline: headline(rows, methods), report: report.out, summary };
}

const seedCount = (k: number, n: number) => `${k} of ${n} seed${n === 1 ? '' : 's'}`;

/**
 * What the table says, in words: the reference, the methods that forgot while keeping utility
 * (named only when that holds in every one of their seeds, with how many), the attacks.
 */
export function headline(rows: readonly SummaryRow[], methods: readonly MethodSeeds[]): string {
  const target = rows.find((r) => r.name === 'target');
  const lines = ['Forget quality is the KS-test p-value of the forget-set truth ratios against the retain model\'s (1 = indistinguishable from never having seen them; ≥ 0.05: the test cannot tell them apart).'];
  const rule = `forget quality ≥ ${FORGOT_AT} at ≥ ${KEEPS_UTILITY * 100}% of the target's model utility`;
  const all = methods.filter((m) => m.passes.all);
  const some = methods.filter((m) => !m.passes.all && m.passes.passes > 0);
  for (const m of all) lines.push(`${m.name}: ${rule} in ${seedCount(m.passes.passes, m.passes.runs)}.`);
  if (all.length === 0) lines.push(`No method reached forget quality ≥ ${FORGOT_AT} while keeping ${KEEPS_UTILITY * 100}% of the target's model utility${methods.some((m) => m.seeds.length > 1) ? ' in all of its seeds' : ''}.`);
  if (some.length > 0) lines.push(`Not in every seed, so not a finding: ${some.map((m) => `${m.name} ${seedCount(m.passes.passes, m.passes.runs)}`).join(', ')}.`);
  const prob = target?.forget_prob ?? null;
  if (prob !== null) {
    // Recovered: the share of the forget Prob that unlearning removed and the strongest attack brought back.
    const recovered = rows
      .filter((r) => !['target', 'retain'].includes(r.name) && r.forget_prob !== null && prob > r.forget_prob)
      .map((r) => {
        const [attack, after] = Object.entries(r.attacks).reduce((best, a) => ((a[1] ?? -Infinity) > (best[1] ?? -Infinity) ? a : best));
        return { name: r.name, attack, share: after === null ? 0 : Math.max(0, (after - r.forget_prob!) / (prob - r.forget_prob!)) };
      })
      .sort((a, b) => b.share - a.share);
    lines.push(`Share of the lost forget Prob the strongest attack brings back: ${recovered.map((x) => `${x.name} ${(100 * x.share).toFixed(0)}% (${x.attack})`).join(', ')}.`);
  }
  return lines.join('\n');
}
