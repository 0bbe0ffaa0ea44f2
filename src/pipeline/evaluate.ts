// An evaluation as `lethe eval` runs it: one model → the metrics of a benchmark (TOFU: a forget
// split or a small author subset; text/MUSE: plain text files), what a retain model contributes
// (its forget-set truth ratios for forget quality, its Min-K% AUC for PrivLeak; evaluated here or
// read from its results file), the cost, all composed into one results record (lethe.results/1).

import { LetheError } from '../engine/errors.ts';
import { readQaJsonl, readTextSet } from '../data/qa-dataset.ts';
import type { PromptTemplate } from '../data/templates.ts';
import { unavailable, type MetricResult } from '../eval/metrics/metric-result.ts';
import { privLeak } from '../eval/metrics/mia.ts';
import type { Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { readResults, type Results } from '../results/schema.ts';
import { DEFAULT_FORGET_SPLIT, pickTemplate } from './data-sources.ts';
import { CountingScorer, EvalMeter } from './eval-meter.ts';
import { TEXT_TEMPLATE, textMetrics, type TextSets } from './eval-text.ts';
import { tofuMetrics, tofuSets } from './eval-tofu.ts';
import { openModel, type ModelSourceOptions } from './model-source.ts';
import { composeResults, writeResults, type MetricFamilies } from './results-file.ts';

/** What to evaluate, every default applied (src/cli/run-eval.ts resolves them from flags). */
export interface EvaluationOptions {
  /** A model folder, a llama2.c .bin checkpoint (or its folder), or a Hub name org/name[@revision]; so are retainModel and referenceModel. */
  model: string;
  /** The tokenizer (file or folder) of `model` when it is not beside it. */
  tokenizer?: string;
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
  /** The results file, or a folder to write results.json into. */
  out: string;
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


function privLeakOf(mia: Record<string, MetricResult> | undefined, retain: RetainValues | null): MetricResult {
  const auc = mia?.minKAuc?.value ?? null;
  if (auc === null) return unavailable(`PrivLeak needs this model's Min-K% forget-vs-holdout AUC: ${mia?.minKAuc?.unavailable ?? 'there is none'}`);
  // The AUC result itself, so PrivLeak gets an interval over forget and holdout items.
  return privLeak(mia!.minKAuc, retain?.minKAuc ?? null);
}

/**
 * Evaluates the model `opts.model` (a folder, a llama2.c checkpoint or a Hub name, through
 * `sources`' Hub options) and writes the results file to `opts.out`. Returns
 * the results record, the metric families and the path written. Throws LetheError for
 * unreadable models or data, and for retain results that do not match this evaluation's items.
 */
export async function evaluateModel(opts: EvaluationOptions, sources: ModelSourceOptions = {}): Promise<{ results: Results; metrics: MetricFamilies; path: string }> {
  const resolved = opts;
  const meter = new EvalMeter();
  const loadPair = (spec: string) => openModel(spec, sources);
  const { model, tokenizer, input } = await openModel(resolved.model, { ...sources, tokenizer: resolved.tokenizer });
  const reference = resolved.referenceModel ? await loadPair(resolved.referenceModel) : null;
  const tofu = resolved.benchmark === 'tofu';
  const template: Pick<PromptTemplate, 'promptSpecialTokens' | 'appendEos'> = tofu ? pickTemplate(resolved.template, tokenizer) : TEXT_TEMPLATE;
  const referenceScorer = reference ? new CountingScorer(reference.model, reference.tokenizer, { template, batchSize: resolved.batchSize, contextLength: resolved.contextLength }, meter) : undefined;

  let metrics: MetricFamilies;
  let benchmark: Results['benchmark'];
  try {
    if (tofu) {
      const fullTemplate = pickTemplate(resolved.template, tokenizer);
      const { sets, info } = tofuSets({ forgetSplit: resolved.forgetSplit ?? DEFAULT_FORGET_SPLIT, tofuAuthors: resolved.tofuAuthors, forgetAuthors: resolved.forgetAuthors, holdout: resolved.holdout, limit: resolved.limit });
      benchmark = { name: 'tofu', ...(resolved.forgetSplit ? { forgetSplit: resolved.forgetSplit } : { forgetSplit: `${resolved.forgetAuthors}-of-${resolved.tofuAuthors}-authors` }), template: fullTemplate.name, maxNewTokens: resolved.maxNewTokens, ...info };
      let retain: RetainValues | null = null;
      if (resolved.retainResults) retain = retainValuesFromResults(await readResults(resolved.retainResults), resolved.retainResults, 'tofu', sets.forget.length);
      else if (resolved.retainModel) retain = await retainModelValues(await loadPair(resolved.retainModel), resolved.retainModel, (m, t) => tofuMetrics(m, t, sets, { template: pickTemplate(resolved.template, t), meter, batchSize: resolved.batchSize, contextLength: resolved.contextLength, maxNewTokens: null }));
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
      else if (resolved.retainModel) retain = await retainModelValues(await loadPair(resolved.retainModel), resolved.retainModel, (m, t) => textMetrics(m, t, { forget: sets.forget, holdout: sets.holdout }, { ...options, maxNewTokens: null }));
      metrics = await textMetrics(model, tokenizer, sets, { ...options, referenceScorer });
      metrics.mia.privLeak = privLeakOf(metrics.mia, retain);
      if (retain) benchmark.retain = retain.source;
    }
  } finally {
    await referenceScorer?.dispose();
  }
  benchmark.tokensScored = meter.tokensScored;
  benchmark.tokensGenerated = meter.tokensGenerated;
  // A Hub model is named as the Hub names it (its local folder is a snapshot named by its commit).
  const results = composeResults({ modelDir: input.path, name: resolved.name ?? input.hub ?? undefined, role: resolved.role, benchmark, metrics, efficiency: meter.efficiency() });
  const path = await writeResults(resolved.out, results);
  return { results, metrics, path };
}

async function retainModelValues({ model, tokenizer }: { model: Model; tokenizer: Tokenizer }, source: string, evaluate: (m: Model, t: Tokenizer) => Promise<MetricFamilies>): Promise<RetainValues> {
  const m = await evaluate(model, tokenizer);
  return { truthRatios: m.tofu?.forgetTruthRatio?.perItem ?? null, minKAuc: m.mia?.minKAuc?.value ?? null, source };
}

