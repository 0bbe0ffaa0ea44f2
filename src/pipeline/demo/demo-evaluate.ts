// One model of the demo, measured and attacked: the TOFU evaluation as `lethe eval` runs it
// (forget quality against the retain model's truth ratios, model utility, membership inference
// against the holdout authors, memorisation), then the attacks as `lethe attack` runs them
// (relearning, 4-bit quantisation, paraphrased and jailbreak prompts), written as the run's
// results.json with what the run cost.

import { join } from 'node:path';
import type { Baseline } from '../../attacks/attack-context.ts';
import type { AttackOutcome } from '../../attacks/attack-outcome.ts';
import { baselineTemplate } from '../../attacks/baselines.ts';
import { attackResults, runAttacks } from '../../attacks/run-attacks.ts';
import { formatMetric, unavailable } from '../../eval/metrics/metric-result.ts';
import { privLeak } from '../../eval/metrics/mia.ts';
import { forgetQuality } from '../../eval/metrics/tofu.ts';
import type { Model } from '../../models/model.ts';
import type { Tokenizer } from '../../models/tokenizer/tokenizer.ts';
import { parseResults, type Results, type Role } from '../../results/schema.ts';
import type { LoopResult } from '../../unlearn/loop.ts';
import { EvalMeter } from '../eval-meter.ts';
import { tofuMetrics } from '../eval-tofu.ts';
import { composeResults, writeResults, type MetricFamilies } from '../results-file.ts';
import type { DemoData, DemoPlan } from './demo-case.ts';

/** The attacks of the demo: relearning on 10% of the forget set, 4-bit weights, paraphrase and the jailbreak templates (the plan's promptAttacks). */
export const DEMO_ATTACKS = ['relearn', 'quantize', 'prompts'];

export interface DemoRun {
  name: string;
  role: Role;
  /** The weights measured (for a baseline: the target's, wrapped by it). */
  model: Model;
  baseline?: Baseline;
  runDir: string;
  modelDir: string;
  /** Training or unlearning that made it; null when nothing was trained now. */
  loop: LoopResult | null;
}

/** What later runs need from the retain and target models. */
export interface Reference {
  /** The retain model's per-item forget truth ratios (forget quality) and Min-K% AUC (PrivLeak). */
  retainTruthRatios: number[] | null;
  retainMinKAuc: number | null;
  /** The target's per-item forget Prob (the attacks' `recovered`). */
  targetForgetProbs: number[] | null;
}

export interface DemoContext {
  tokenizer: Tokenizer;
  data: DemoData;
  plan: DemoPlan;
  seed: number;
  say: (line: string) => void;
}

const fmt = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(2) : x.toFixed(4));

/** A run's evaluation, before its attacks. */
export interface Measured {
  metrics: MetricFamilies;
  efficiency: ReturnType<EvalMeter['efficiency']>;
  benchmark: Results['benchmark'];
}

/** The TOFU evaluation of one run (retain model first: the others' forget quality needs its truth ratios). */
export async function measureRun(run: DemoRun, ctx: DemoContext, ref: Reference): Promise<Measured> {
  const { data, plan, tokenizer } = ctx;
  const template = run.baseline ? baselineTemplate(run.baseline, data.template) : data.template;
  const meter = new EvalMeter();
  const metrics = await tofuMetrics(run.model, tokenizer, data.sets, {
    template, meter, batchSize: plan.eval.batchSize, maxNewTokens: plan.eval.maxNewTokens, retainTruthRatios: ref.retainTruthRatios,
  });
  const tofu = metrics.tofu;
  // The retain model is the reference: its truth ratios against themselves (p-value 1).
  if (run.role === 'retain') tofu.forgetQuality = forgetQuality(tofu.forgetTruthRatio.perItem, tofu.forgetTruthRatio.perItem);
  const minK = metrics.mia.minKAuc?.value ?? null;
  const retainMinK = run.role === 'retain' ? minK : ref.retainMinKAuc;
  metrics.mia.privLeak = minK === null ? unavailable('PrivLeak needs the Min-K% forget-vs-holdout AUC') : privLeak(minK, retainMinK);
  const efficiency = meter.efficiency();
  ctx.say(`  ${run.name} eval: forget quality ${formatMetric(tofu.forgetQuality)}, model utility ${formatMetric(tofu.modelUtility)}, forget Prob ${formatMetric(tofu.forgetProb)}, Min-K% AUC ${fmt(minK)} (${efficiency.wallSeconds.toFixed(1)} s)`);
  const benchmark: Results['benchmark'] = {
    name: 'tofu', forgetSplit: `${data.subset.forgetAuthors.length}-of-${data.subset.forgetAuthors.length + data.subset.retainAuthors.length}-authors`,
    template: template.name, maxNewTokens: plan.eval.maxNewTokens, ...data.info, retain: 'retain',
    tokensScored: meter.tokensScored, tokensGenerated: meter.tokensGenerated,
    ...(run.baseline ? { baseline: { name: run.baseline.name, ...run.baseline.describe() } } : {}),
  };
  return { metrics, efficiency, benchmark };
}

/** The attacks on one run, then its results.json (metrics, attacks, cost). */
export async function attackRun(run: DemoRun, ctx: DemoContext, ref: Reference, measured: Measured): Promise<Results> {
  const { data, plan, tokenizer } = ctx;
  const t0 = performance.now();
  const outcomes: AttackOutcome[] = await runAttacks(
    { model: run.model, baseline: run.baseline ?? null },
    { tokenizer, template: data.template, forgetSet: data.sets.forget, retainSet: data.subset.retainSet, targetForgetProbs: ref.targetForgetProbs, generation: null, batchSize: plan.eval.batchSize, seed: ctx.seed },
    DEMO_ATTACKS,
    { quantize: { bits: [4] }, prompts: { attacks: plan.eval.promptAttacks } },
  );
  const shown = outcomes.filter((o) => SUMMARY_ATTACKS.includes(o.name));
  ctx.say(`  ${run.name} attacks: forget Prob ${shown.map((o) => `${o.name} ${fmt(o.before.forgetProb)} → ${fmt(o.after.forgetProb)}`).join(', ')} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  // What the run cost: its training or unlearning (6·N FLOPs per trained token) and its evaluation.
  const e = measured.efficiency;
  const trained = run.loop ? { wallSeconds: run.loop.wallSeconds, tokens: run.loop.tokens, flops: 6 * run.model.size * run.loop.tokens } : { wallSeconds: 0, tokens: 0, flops: 0 };
  const results = composeResults({
    modelDir: run.modelDir, name: run.name, role: run.role, benchmark: measured.benchmark, metrics: measured.metrics,
    efficiency: { wallSeconds: trained.wallSeconds + e.wallSeconds, tokens: trained.tokens + e.tokens, flops: trained.flops + e.flops, peakRssMiB: e.peakRssMiB },
  });
  // JSON has no NaN (a mean over no items): it becomes null, which the schema reads as "not measured".
  const withAttacks = parseResults(JSON.parse(JSON.stringify({ ...results, attacks: attackResults(outcomes) })), `${run.name} results`);
  await writeResults(join(run.runDir, 'results.json'), withAttacks);
  return withAttacks;
}

/** The attacks whose forget Prob the summary shows: relearning, 4-bit weights, the best prompt per item. */
export const SUMMARY_ATTACKS = ['relearn', 'quantize_4bit', 'prompts.max'];

export async function evaluateRun(run: DemoRun, ctx: DemoContext, ref: Reference): Promise<Results> {
  return attackRun(run, ctx, ref, await measureRun(run, ctx, ref));
}

/** What the retain model's and the target's evaluations give the runs after them. */
export function referenceFrom(retain: MetricFamilies | null, target: MetricFamilies | null): Reference {
  return {
    retainTruthRatios: retain?.tofu?.forgetTruthRatio?.perItem ?? null,
    retainMinKAuc: retain?.mia?.minKAuc?.value ?? null,
    targetForgetProbs: target?.tofu?.forgetProb?.perItem ?? null,
  };
}
