// `lethe demo --case capability`: removing a capability, not a person. A small model trained
// from scratch on two made-up technical domains (capability-case.ts) answers both domains'
// multiple-choice questions well above chance; RMU, NPO and GradDiff unlearn one domain's corpus
// (retain: the other's); each model's accuracy on both domains is measured the
// lm-evaluation-harness way with bootstrap intervals, then relearning on the forget domain's
// sentences about facts the reported questions do not ask shows how much accuracy comes back.
// The retain model (trained on the kept domain only) is the reference: what a model that never
// knew the forget domain scores, and what relearning alone teaches it. Writes OUT/report.html,
// OUT/summary.json and a table on the terminal, like the TOFU demo (run-demo.ts).

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { relearnMcAttack, type McAttackOutcome } from '../../attacks/relearn-mc.ts';
import type { Model } from '../../models/model.ts';
import { saveModel } from '../../models/save-model.ts';
import type { Tokenizer } from '../../models/tokenizer/tokenizer.ts';
import { writeFileAtomic } from '../../models/formats/write-file-atomic.ts';
import { parseResults, type Results, type Role } from '../../results/schema.ts';
import type { LoopResult } from '../../unlearn/loop.ts';
import { unlearn } from '../../unlearn/run.ts';
import { writeReport } from '../../report/report.ts';
import { EvalMeter } from '../eval-meter.ts';
import { mcMetrics, type McSides } from '../eval-mc.ts';
import { withProgress, type ProgressFactory } from '../progress.ts';
import { composeResults, writeResults } from '../results-file.ts';
import { writeResolvedConfig } from '../run-config.ts';
import { CAPABILITY_FULL_PLAN, CAPABILITY_QUICK_PLAN, capabilityData, documentPairs, type CapabilityData, type CapabilityMethod, type CapabilityPlan } from './capability-case.ts';
import { caseModels } from './demo-models.ts';
import { startDemo, type DemoOptions, type DemoOutcome } from './run-demo.ts';

/** The version of OUT/summary.json written by the capability demo. */
export const CAPABILITY_SUMMARY_SCHEMA = 'lethe.demo-summary.capability/1';

/** A value and its 95% bootstrap interval over the questions. */
export interface Accuracy {
  value: number | null;
  interval: [number, number] | null;
}

/** One model's row of summary.json. */
export interface CapabilityRow {
  name: string;
  role: Role;
  /** Accuracy on the forget domain's reported questions (acc, lm-evaluation-harness). */
  forget_acc: Accuracy;
  /** Accuracy on the retain domain's reported questions. */
  retain_acc: Accuracy;
  /** Guessing: the mean over questions of 1/(number of options). */
  chance: number | null;
  /** After relearning on the forget domain's corpus-train-facts.txt; null when not attacked. */
  relearned: { forget_acc: Accuracy; retain_acc: Accuracy; gain: Accuracy } | null;
  /** Questions per domain. */
  n: { forget: number; retain: number };
  /** Training or unlearning seconds (null: reused). */
  seconds: number | null;
}

export interface CapabilitySummary {
  schema: typeof CAPABILITY_SUMMARY_SCHEMA;
  case: 'capability';
  quick: boolean;
  forget_domain: string;
  retain_domain: string;
  models: CapabilityRow[];
}

interface Measured {
  name: string;
  role: Role;
  model: Model;
  runDir: string;
  modelDir: string;
  loop: LoopResult | null;
}

const UNLEARN_SEED = 0;
const SCORING = { style: 'continuation' as const, description: null, numFewshot: 0 };

const acc = (value: number | null | undefined, b: unknown): Accuracy => ({
  value: typeof value === 'number' && Number.isFinite(value) ? value : null,
  interval: Array.isArray(b) && b.length === 2 ? [b[0] as number, b[1] as number] : null,
});

/** The MC evaluation of one model and, unless `relearn` is false, the relearning attack; writes RUN/results.json. */
async function measure(run: Measured, tokenizer: Tokenizer, data: CapabilityData, plan: CapabilityPlan, relearn: boolean, targetForgetAcc: number | null, say: (line: string) => void): Promise<{ results: Results; row: CapabilityRow }> {
  const meter = new EvalMeter();
  const sides: McSides = { forget: [{ file: data.forget.files.eval, items: data.forget.eval }], retain: [{ file: data.retain.files.eval, items: data.retain.eval }] };
  const mc = await mcMetrics(run.model, tokenizer, sides, { meter, batchSize: plan.evalBatchSize, ...SCORING, chat: false });
  const m = mc.metrics.mc;
  const interval = (k: string): [number, number] | null => {
    const i = m[k]?.interval;
    return i && 'lower' in i ? [i.lower, i.upper] : null;
  };
  const forget = acc(m.forgetAcc.value, interval('forgetAcc'));
  const retain = acc(m.retainAcc.value, interval('retainAcc'));
  const pct = (a: Accuracy) => (a.value === null ? 'n/a' : `${(100 * a.value).toFixed(1)}%${a.interval ? ` [${(100 * a.interval[0]).toFixed(1)}, ${(100 * a.interval[1]).toFixed(1)}]` : ''}`);
  say(`  ${run.name}: ${data.forget.name} accuracy ${pct(forget)}, ${data.retain.name} accuracy ${pct(retain)} (chance ${(100 * (m.forgetChance.value ?? NaN)).toFixed(0)}%)`);

  let outcome: McAttackOutcome | null = null;
  if (relearn) {
    const t0 = performance.now();
    outcome = await relearnMcAttack(run.model, {
      tokenizer, template: data.template, pairs: documentPairs(data.forget.trainFacts, data.forget.files.trainFacts, UNLEARN_SEED), dataName: data.forget.files.trainFacts,
      forget: data.forget.eval, retain: data.retain.eval, scoring: SCORING, scoreBatchSize: plan.evalBatchSize,
      steps: plan.relearn.steps, lr: plan.relearn.lr, batchSize: plan.relearn.batchSize, seed: UNLEARN_SEED, targetForgetAcc,
    });
    const iv = outcome.details.intervals as { after: Record<string, [number, number] | null> };
    say(`  ${run.name} relearned on ${data.forget.files.trainFacts} (${outcome.details.samples} lines, ${outcome.details.steps} steps): ${data.forget.name} accuracy ${pct(forget)} → ${pct(acc(outcome.after.forgetAcc, iv.after.forgetAcc))} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const e = meter.efficiency();
  const trained = run.loop ? { wallSeconds: run.loop.wallSeconds, tokens: run.loop.tokens, flops: 6 * run.model.size * run.loop.tokens } : { wallSeconds: 0, tokens: 0, flops: 0 };
  const benchmark: Results['benchmark'] = {
    name: 'mc', case: 'capability', forgetMc: [data.forget.files.eval], retainMc: [data.retain.files.eval], style: SCORING.style, description: null, numFewshot: 0,
    items: { forget: data.forget.eval.length, retain: data.retain.eval.length }, tokensScored: meter.tokensScored,
  };
  const results = composeResults({
    modelDir: run.modelDir, name: run.name, role: run.role, benchmark, metrics: mc.metrics,
    multipleChoice: { style: SCORING.style, numFewshot: 0, template: 'plain', sets: mc.sets },
    efficiency: { wallSeconds: trained.wallSeconds + e.wallSeconds, tokens: trained.tokens + e.tokens, flops: trained.flops + e.flops, peakRssMiB: e.peakRssMiB },
  });
  const attacks = outcome ? { [outcome.name]: { before: outcome.before, after: outcome.after, recovered: outcome.recovered, details: outcome.details } } : undefined;
  const withAttacks = parseResults(JSON.parse(JSON.stringify({ ...results, ...(attacks ? { attacks } : {}) })), `${run.name} results`);
  await writeResults(join(run.runDir, 'results.json'), withAttacks);

  const iv = outcome?.details.intervals as { after: Record<string, [number, number] | null> } | undefined;
  const gain = outcome?.details.forgetAccGain as { value: number | null; lower?: number; upper?: number } | undefined;
  const row: CapabilityRow = {
    name: run.name, role: run.role, forget_acc: forget, retain_acc: retain, chance: m.forgetChance.value ?? null,
    relearned: outcome && iv ? {
      forget_acc: acc(outcome.after.forgetAcc, iv.after.forgetAcc),
      retain_acc: acc(outcome.after.retainAcc, iv.after.retainAcc),
      gain: acc(gain?.value, gain?.lower !== undefined ? [gain.lower, gain.upper] : null),
    } : null,
    n: { forget: data.forget.eval.length, retain: data.retain.eval.length },
    seconds: run.loop?.wallSeconds ?? null,
  };
  return { results: withAttacks, row };
}

/** Unlearns the forget domain's corpus from `target` with `m` (retain: the other domain's corpus); OUT/<name>/{model, log.jsonl, config.yaml}. */
async function runMethod(out: string, m: CapabilityMethod, target: Model, tokenizer: Tokenizer, data: CapabilityData, plan: CapabilityPlan, progress: ProgressFactory): Promise<Measured> {
  const runDir = join(out, m.name);
  await rm(runDir, { recursive: true, force: true });
  const batchSize = plan.unlearnBatchSize;
  await writeResolvedConfig(runDir, 'unlearn', {
    method: m.method.name, methodOptions: m.options ?? {}, lr: m.lr, epochs: m.epochs, batchSize, seed: UNLEARN_SEED,
    forget: data.forget.files.corpus, retain: data.retain.files.corpus, scope: m.method.scope ? `${m.method.name} default` : { kind: 'all' },
  });
  const run = await withProgress(progress, `  ${m.name}`, (onProgress) =>
    unlearn(target, tokenizer, {
      method: m.method, methodOptions: m.options,
      forget: documentPairs(data.forget.corpus, data.forget.files.corpus, UNLEARN_SEED),
      retain: documentPairs(data.retain.corpus, data.retain.files.corpus, UNLEARN_SEED),
      idk: [], template: data.template, lr: m.lr, optimizer: { kind: 'adamw', weightDecay: 0 }, epochs: m.epochs, batchSize, seed: UNLEARN_SEED, runDir,
      onProgress,
    }));
  const modelDir = join(runDir, 'model');
  await saveModel(run.model, modelDir);
  tokenizer.save(modelDir);
  await rm(join(runDir, 'checkpoints'), { recursive: true, force: true }); // the demo never resumes
  return { name: m.name, role: 'unlearned', model: run.model, runDir, modelDir, loop: run.loop };
}

/**
 * Runs the capability demo into `o.out` (a new or empty folder, or an earlier demo's): trains the
 * target (both domains) and retain (kept domain only) models or reuses them, unlearns the forget
 * domain with each method of the plan, measures every model's multiple-choice accuracy on both
 * domains and attacks it by relearning, writes report.html and summary.json
 * (CAPABILITY_SUMMARY_SCHEMA). Throws LetheError when `out` holds files that are not a demo's.
 */
export async function capabilityDemo(o: DemoOptions): Promise<DemoOutcome> {
  const plan = o.quick ? CAPABILITY_QUICK_PLAN : CAPABILITY_FULL_PLAN;
  const c = plan.case;
  const { say, progress, next } = await startDemo(o, 4);

  const data = capabilityData(c);
  next(`the case: a capability, two made-up technical domains (${data.forget.name}: ${data.forget.corpus.length} corpus lines, ${data.retain.name}: ${data.retain.corpus.length}), ${data.forget.eval.length} four-option questions each; forget the ${data.forget.name}, keep the ${data.retain.name}${o.quick ? ' (quick)' : ''}`);
  const models = await caseModels(o.out, c, data, { fresh: o.fresh, say, progress });
  const { tokenizer } = models;

  next(`measuring the target (knows both domains) and the retain model (never saw the ${data.forget.name}: the reference), then relearning each on ${data.forget.files.trainFacts}`);
  const target = await measure({ ...models.target, role: 'target' }, tokenizer, data, plan, true, null, say);
  const targetForgetAcc = target.row.forget_acc.value;
  const retain = await measure({ ...models.retain, role: 'retain' }, tokenizer, data, plan, true, targetForgetAcc, say);
  const rows = [target.row, retain.row];

  next(`unlearning the ${data.forget.name} corpus from the target with ${plan.methods.length} methods (retain: the ${data.retain.name} corpus), measuring and relearning each`);
  for (const [i, m] of plan.methods.entries()) {
    say(`[${i + 1}/${plan.methods.length}] ${m.name}: ${m.summary} (lr ${m.lr}, ${m.epochs} epochs)`);
    const u = await runMethod(o.out, m, models.target.model, tokenizer, data, plan, progress);
    rows.push((await measure(u, tokenizer, data, plan, true, targetForgetAcc, say)).row);
  }

  next('writing the report and the summary');
  const report = await writeReport(rows.map((r) => join(o.out, r.name)), join(o.out, 'report.html'));
  const summary: CapabilitySummary = { schema: CAPABILITY_SUMMARY_SCHEMA, case: 'capability', quick: o.quick, forget_domain: data.forget.name, retain_domain: data.retain.name, models: rows };
  const summaryPath = join(o.out, 'summary.json');
  await writeFileAtomic(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  return { table: capabilityTable(rows, data.forget.name, data.retain.name), headline: capabilityHeadline(rows, data.forget.name, data.retain.name), report: report.out, summary: summaryPath };
}

const pctCell = (a: Accuracy | undefined) => (!a || a.value === null ? 'n/a' : `${(100 * a.value).toFixed(1)}${a.interval ? ` [${(100 * a.interval[0]).toFixed(1)}, ${(100 * a.interval[1]).toFixed(1)}]` : ''}`);

/** The summary as an aligned text table (accuracies in %, 95% bootstrap intervals over questions). */
export function capabilityTable(rows: readonly CapabilityRow[], forget: string, retain: string): string {
  const head = ['model', `${forget} acc % [95% CI]`, `${retain} acc % [95% CI]`, 'chance %', `${forget} after relearn`, `${retain} after relearn`, 'n', 'train s'];
  const body = rows.map((r) => [
    r.name, pctCell(r.forget_acc), pctCell(r.retain_acc), r.chance === null ? 'n/a' : (100 * r.chance).toFixed(0),
    pctCell(r.relearned?.forget_acc), pctCell(r.relearned?.retain_acc), `${r.n.forget}/${r.n.retain}`, r.seconds === null ? '-' : r.seconds.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/**
 * What the table says, in words. "Near chance": the forget accuracy's 95% interval contains the
 * chance level. "Kept": the retain accuracy's interval overlaps the target's (the two are
 * measured on the same questions). Relearning is judged against the retain model's relearning,
 * which is what the relearning text teaches a model that never knew the domain.
 */
export function capabilityHeadline(rows: readonly CapabilityRow[], forget: string, retain: string): string {
  const target = rows.find((r) => r.role === 'target');
  const reference = rows.find((r) => r.role === 'retain');
  const unlearned = rows.filter((r) => r.role === 'unlearned');
  const overlaps = (a: Accuracy, b: Accuracy | undefined) => !!a.interval && !!b?.interval && a.interval[0] <= b.interval[1] && b.interval[0] <= a.interval[1];
  const atChance = (r: CapabilityRow) => r.chance !== null && !!r.forget_acc.interval && r.forget_acc.interval[0] <= r.chance && r.chance <= r.forget_acc.interval[1];
  const kept = (r: CapabilityRow) => overlaps(r.retain_acc, target?.retain_acc);
  const lines = [`Accuracy is lm-evaluation-harness acc (option texts scored as continuations), in %, with 95% bootstrap intervals over the ${target?.n.forget ?? '?'} questions per domain; chance is ${target?.chance === null || target?.chance === undefined ? 'n/a' : (100 * target.chance).toFixed(0)}%.`];
  const good = unlearned.filter((r) => atChance(r) && kept(r));
  lines.push(good.length > 0
    ? `${forget} accuracy at chance (interval holds it) while ${retain} accuracy stays within the target's interval: ${good.map((r) => r.name).join(', ')}.`
    : `No method brought ${forget} accuracy to chance while keeping ${retain} accuracy within the target's interval.`);
  // Below chance (the interval under it): the model now avoids the right option, so it still tells it apart.
  const below = unlearned.filter((r) => r.chance !== null && r.forget_acc.interval !== null && r.forget_acc.interval[1] < r.chance);
  if (below.length > 0) lines.push(`${forget} accuracy below chance (interval under it; the model now avoids the right option, so it still tells it apart): ${below.map((r) => r.name).join(', ')}.`);
  const ref = reference?.relearned?.forget_acc.value ?? null;
  if (ref !== null) {
    const relearned = unlearned.filter((r) => r.relearned?.forget_acc.value !== null && r.relearned?.forget_acc.value !== undefined);
    lines.push(`Relearning on ${forget} sentences about other facts than the ones asked: the retain model, which never knew the ${forget}, goes to ${(100 * ref).toFixed(1)}%; the unlearned models: ${relearned.map((r) => `${r.name} ${pctCell(r.forget_acc)} → ${pctCell(r.relearned!.forget_acc)}`).join(', ')}.`);
    // Above what relearning teaches from nothing (the interval's lower end above the retain model's value): the knowledge was hidden, not removed.
    const hidden = relearned.filter((r) => r.relearned!.forget_acc.interval !== null && r.relearned!.forget_acc.interval[0] > ref);
    lines.push(hidden.length > 0
      ? `Came back above that (hidden, not removed): ${hidden.map((r) => r.name).join(', ')}.`
      : 'No unlearned model came back above that: what relearning brings back, it also teaches a model that never knew.');
  }
  return lines.join('\n');
}
