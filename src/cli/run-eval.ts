// `lethe eval`: one model → results.json (lethe.results/1) with per-item values. TOFU (a forget
// split, or a small author subset) or a MUSE-style text benchmark. Forget quality and PrivLeak
// need a retain model's values (`--retain-model DIR`, evaluated here, or `--retain-results
// FILE`); without them they are written as unavailable, with the reason.

import { resolve } from 'node:path';
import { z } from 'zod';
import { LetheError } from '../engine/errors.ts';
import { readQaJsonl, readTextSet } from '../data/qa-dataset.ts';
import type { PromptTemplate } from '../data/templates.ts';
import { unavailable, type MetricResult } from '../eval/metrics/metric-result.ts';
import { privLeak } from '../eval/metrics/mia.ts';
import { loadModel } from '../models/load-model.ts';
import type { Model } from '../models/model.ts';
import { loadTokenizer } from '../models/tokenizer/load-tokenizer.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { readResults, type Results } from '../results/schema.ts';
import { fileLayer, parseLayers, path, positiveInt, nonNegativeInt, flag, type Layer } from './config.ts';
import { pickTemplate } from '../pipeline/data-sources.ts';
import { CountingScorer, EvalMeter } from '../pipeline/eval-meter.ts';
import { TEXT_TEMPLATE, textMetrics, type TextSets } from '../pipeline/eval-text.ts';
import { tofuMetrics, tofuSets } from '../pipeline/eval-tofu.ts';
import { composeResults, writeResults, type MetricFamilies } from '../pipeline/results-file.ts';

export const EVAL_PATHS = ['model', 'retainModel', 'retainResults', 'referenceModel', 'holdout', 'forget', 'retain', 'forgetQa', 'retainQa', 'out'] as const;

export const evalSchema = z
  .strictObject({
    model: path(),
    /** tofu; text (MUSE-style, plain text files); muse (the same, labelled as MUSE data). */
    benchmark: z.enum(['tofu', 'text', 'muse']).optional(),
    forgetSplit: z.enum(['forget01', 'forget05', 'forget10']).optional(),
    tofuAuthors: positiveInt().optional(),
    forgetAuthors: positiveInt().optional(),
    /** Items no model saw: .jsonl for TOFU, text lines for the text benchmark. */
    holdout: path().optional(),
    forget: path().optional(),
    retain: path().optional(),
    forgetQa: path().optional(),
    retainQa: path().optional(),
    retainModel: path().optional(),
    retainResults: path().optional(),
    /** A reference model for the Reference membership-inference attack. */
    referenceModel: path().optional(),
    /** Greedy tokens per answer (TOFU 200) or continuation (VerbMem 128). */
    maxNewTokens: nonNegativeInt().optional(),
    /** false: no generation (ROUGE, VerbMem, KnowMem unavailable). */
    generate: flag().optional(),
    prefixTokens: positiveInt().optional(),
    fewShot: nonNegativeInt().optional(),
    /** At most this many items per TOFU set. */
    limit: positiveInt().optional(),
    batchSize: positiveInt().optional(),
    contextLength: positiveInt().optional(),
    template: z.enum(['auto', 'plain', 'chat']).optional(),
    name: z.string().min(1).optional(),
    role: z.enum(['target', 'retain', 'unlearned', 'baseline']).optional(),
    out: path(),
  })
  .superRefine((u, ctx) => {
    const issue = (message: string, key?: string) => ctx.addIssue({ code: 'custom', message, path: key ? [key] : [] });
    if (u.retainModel !== undefined && u.retainResults !== undefined) issue('give --retain-model DIR or --retain-results FILE, not both', 'retainResults');
    if ((u.tofuAuthors === undefined) !== (u.forgetAuthors === undefined)) issue(u.tofuAuthors === undefined ? 'needs --tofu-authors N (the authors of the case)' : 'needed with --tofu-authors (how many authors to forget)', u.tofuAuthors === undefined ? 'tofuAuthors' : 'forgetAuthors');
    const text = u.benchmark === 'text' || u.benchmark === 'muse';
    if (text && u.forget === undefined) issue(`--benchmark ${u.benchmark} needs --forget FILE (text, one document a line)`, 'forget');
    if (!text) {
      for (const key of ['forget', 'retain', 'forgetQa', 'retainQa', 'prefixTokens', 'fewShot'] as const) {
        if (u[key] !== undefined) issue('only with --benchmark text or muse', key);
      }
      if (u.tofuAuthors !== undefined && u.forgetSplit !== undefined) issue('give --forget-split or --tofu-authors/--forget-authors, not both', 'forgetSplit');
    } else {
      for (const key of ['forgetSplit', 'tofuAuthors', 'limit'] as const) if (u[key] !== undefined) issue('only with --benchmark tofu', key);
    }
  });

export type EvalUserOptions = z.infer<typeof evalSchema>;

export interface ResolvedEvalOptions {
  model: string;
  benchmark: 'tofu' | 'text' | 'muse';
  forgetSplit?: string;
  tofuAuthors?: number;
  forgetAuthors?: number;
  holdout?: string;
  forget?: string;
  retain?: string;
  forgetQa?: string;
  retainQa?: string;
  retainModel?: string;
  retainResults?: string;
  referenceModel?: string;
  /** null: no generation. */
  maxNewTokens: number | null;
  prefixTokens: number;
  fewShot: number;
  limit?: number;
  batchSize: number;
  contextLength?: number;
  template: 'auto' | 'plain' | 'chat';
  name?: string;
  role?: Results['role'];
  out: string;
}

/** Every default of `lethe eval`: TOFU forget10 with 200 greedy tokens per answer; VerbMem 32-token prefixes and 128-token continuations (MUSE); 3 KnowMem examples; batches of 16. */
export function resolveEvalOptions(u: EvalUserOptions): ResolvedEvalOptions {
  const benchmark = u.benchmark ?? 'tofu';
  const tofu = benchmark === 'tofu';
  const { generate: _generate, ...given } = u;
  return {
    ...given,
    benchmark,
    ...(tofu && u.tofuAuthors === undefined ? { forgetSplit: u.forgetSplit ?? 'forget10' } : {}),
    maxNewTokens: u.generate === false ? null : (u.maxNewTokens ?? (tofu ? 200 : 128)),
    prefixTokens: u.prefixTokens ?? 32,
    fewShot: u.fewShot ?? 3,
    batchSize: u.batchSize ?? 16,
    template: u.template ?? 'auto',
  };
}

/** What a retain model contributes: its forget-set truth ratios (TOFU) and its Min-K% AUC. */
interface RetainValues {
  truthRatios: number[] | null;
  minKAuc: number | null;
  source: string;
}

function retainValuesFromResults(results: Results, file: string, benchmark: string, forgetItems: number): RetainValues {
  const truthRatios = results.metrics.tofu?.forgetTruthRatio?.perItem ?? null;
  if (benchmark === 'tofu') {
    if (!truthRatios) throw new LetheError(`--retain-results ${file}: has no tofu.forgetTruthRatio per-item values (is it a TOFU evaluation?)`);
    if (truthRatios.length !== forgetItems) {
      throw new LetheError(`--retain-results ${file}: holds ${truthRatios.length} forget items, this evaluation has ${forgetItems} (evaluate both with the same forget split or authors)`);
    }
  }
  return { truthRatios, minKAuc: results.metrics.mia?.minKAuc?.value ?? null, source: file };
}

async function loadPair(dir: string): Promise<{ model: Model; tokenizer: Tokenizer }> {
  const tokenizer = loadTokenizer(dir);
  return { model: await loadModel(dir), tokenizer };
}

function privLeakOf(mia: Record<string, MetricResult> | undefined, retain: RetainValues | null): MetricResult {
  const auc = mia?.minKAuc?.value ?? null;
  if (auc === null) return unavailable(`PrivLeak needs this model's Min-K% forget-vs-holdout AUC: ${mia?.minKAuc?.unavailable ?? 'there is none'}`);
  return privLeak(auc, retain?.minKAuc ?? null);
}

/** Runs `lethe eval` from its option layers (config file, flags). */
export async function evalCommand(flags: Layer, configFile?: string): Promise<void> {
  const file = configFile ? fileLayer(configFile, EVAL_PATHS) : null;
  const resolved = resolveEvalOptions(parseLayers(evalSchema, [...(file ? [file] : []), flags]));
  const meter = new EvalMeter();
  const { model, tokenizer } = await loadPair(resolved.model);
  const reference = resolved.referenceModel ? await loadPair(resolved.referenceModel) : null;
  const tofu = resolved.benchmark === 'tofu';
  const template: Pick<PromptTemplate, 'promptSpecialTokens' | 'appendEos'> = tofu ? pickTemplate(resolved.template, tokenizer) : TEXT_TEMPLATE;
  const referenceScorer = reference ? new CountingScorer(reference.model, reference.tokenizer, { template, batchSize: resolved.batchSize, contextLength: resolved.contextLength }, meter) : undefined;

  let metrics: MetricFamilies;
  let benchmark: Results['benchmark'];
  try {
    if (tofu) {
      const fullTemplate = pickTemplate(resolved.template, tokenizer);
      const { sets, info } = tofuSets({ forgetSplit: resolved.forgetSplit ?? 'forget10', tofuAuthors: resolved.tofuAuthors, forgetAuthors: resolved.forgetAuthors, holdout: resolved.holdout, limit: resolved.limit });
      benchmark = { name: 'tofu', ...(resolved.forgetSplit ? { forgetSplit: resolved.forgetSplit } : { forgetSplit: `${resolved.forgetAuthors}-of-${resolved.tofuAuthors}-authors` }), template: fullTemplate.name, maxNewTokens: resolved.maxNewTokens, ...info };
      let retain: RetainValues | null = null;
      if (resolved.retainResults) retain = retainValuesFromResults(await readResults(resolved.retainResults), resolved.retainResults, 'tofu', sets.forget.length);
      else if (resolved.retainModel) retain = await retainModelValues(resolved.retainModel, (m, t) => tofuMetrics(m, t, sets, { template: pickTemplate(resolved.template, t), meter, batchSize: resolved.batchSize, contextLength: resolved.contextLength, maxNewTokens: null }));
      metrics = await tofuMetrics(model, tokenizer, sets, { template: fullTemplate, meter, batchSize: resolved.batchSize, contextLength: resolved.contextLength, maxNewTokens: resolved.maxNewTokens, retainTruthRatios: retain?.truthRatios ?? null, referenceScorer, gradNorm: true });
      metrics.mia.privLeak = privLeakOf(metrics.mia, retain);
      if (retain) benchmark.retain = retain.source;
    } else {
      const sets: TextSets = {
        forget: readTextSet(resolved.forget!),
        ...(resolved.retain ? { retain: readTextSet(resolved.retain) } : {}),
        ...(resolved.holdout ? { holdout: readTextSet(resolved.holdout) } : {}),
        ...(resolved.forgetQa ? { forgetQa: readQaJsonl(resolved.forgetQa) } : {}),
        ...(resolved.retainQa ? { retainQa: readQaJsonl(resolved.retainQa) } : {}),
      };
      const options = { meter, batchSize: resolved.batchSize, contextLength: resolved.contextLength, prefixTokens: resolved.prefixTokens, maxNewTokens: resolved.maxNewTokens, fewShot: resolved.fewShot };
      benchmark = {
        name: resolved.benchmark as 'text' | 'muse',
        forgetSplit: resolved.forget,
        ...Object.fromEntries((['retain', 'holdout', 'forgetQa', 'retainQa'] as const).filter((k) => resolved[k]).map((k) => [k, resolved[k]])),
        prefixTokens: resolved.prefixTokens, maxNewTokens: resolved.maxNewTokens, items: { forget: sets.forget.length, holdout: sets.holdout?.length ?? 0 },
      };
      let retain: RetainValues | null = null;
      if (resolved.retainResults) retain = retainValuesFromResults(await readResults(resolved.retainResults), resolved.retainResults, 'text', sets.forget.length);
      else if (resolved.retainModel) retain = await retainModelValues(resolved.retainModel, (m, t) => textMetrics(m, t, { forget: sets.forget, holdout: sets.holdout }, { ...options, maxNewTokens: null }));
      metrics = await textMetrics(model, tokenizer, sets, { ...options, referenceScorer });
      metrics.mia.privLeak = privLeakOf(metrics.mia, retain);
      if (retain) benchmark.retain = retain.source;
    }
  } finally {
    await referenceScorer?.dispose();
  }
  benchmark.tokensScored = meter.tokensScored;
  benchmark.tokensGenerated = meter.tokensGenerated;
  const results = composeResults({ modelDir: resolved.model, name: resolved.name, role: resolved.role, benchmark, metrics, efficiency: meter.efficiency() });
  const written = await writeResults(resolved.out, results);
  process.stdout.write(`lethe eval: ${resolved.benchmark} on ${resolve(resolved.model)}: ${headline(metrics)} → ${written}\n`);
}

async function retainModelValues(dir: string, evaluate: (m: Model, t: Tokenizer) => Promise<MetricFamilies>): Promise<RetainValues> {
  const { model, tokenizer } = await loadPair(dir);
  const m = await evaluate(model, tokenizer);
  return { truthRatios: m.tofu?.forgetTruthRatio?.perItem ?? null, minKAuc: m.mia?.minKAuc?.value ?? null, source: dir };
}

/** The few numbers the summary line shows. */
function headline(metrics: MetricFamilies): string {
  const pick: [string, string, string][] = [
    ['tofu', 'forgetQuality', 'forget quality'], ['tofu', 'modelUtility', 'model utility'], ['tofu', 'forgetProb', 'forget Prob'],
    ['muse', 'verbMem', 'VerbMem'], ['muse', 'knowMemForget', 'KnowMem forget'], ['mia', 'minKAuc', 'Min-K% AUC'], ['mia', 'privLeak', 'PrivLeak'],
  ];
  return pick
    .filter(([f, m]) => metrics[f]?.[m] !== undefined)
    .map(([f, m, label]) => {
      const v = metrics[f][m].value;
      return `${label} ${v === null ? 'unavailable' : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(4)}`;
    })
    .join(', ');
}
