// An evaluation as `lethe eval` runs it: one model → the metrics of a benchmark (TOFU: a forget
// split or a small author subset; text/MUSE: plain text files), what a retain model contributes
// (its forget-set truth ratios for forget quality, its Min-K% AUC for PrivLeak; evaluated here or
// read from its results file), the cost, all composed into one results record (lethe.results/1).

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
import { DEFAULT_FORGET_SPLIT, pickTemplate } from './data-sources.ts';
import { CountingScorer, EvalMeter } from './eval-meter.ts';
import { TEXT_TEMPLATE, textMetrics, type TextSets } from './eval-text.ts';
import { qaSets, tofuMetrics, tofuSets } from './eval-tofu.ts';
import { mcMetrics, readMcSides } from './eval-mc.ts';
import { readMultipleChoiceFile } from '../data/multiple-choice.ts';
import type { McPromptStyle } from '../eval/multiple-choice/prompts.ts';
import { composeResults, writeResults, type MetricFamilies } from './results-file.ts';

/** What to evaluate, every default applied (src/cli/run-eval.ts resolves them from flags). */
export interface EvaluationOptions {
  model: string;
  benchmark: 'tofu' | 'text' | 'muse' | 'mc' | 'qa';
  forgetSplit?: string;
  tofuAuthors?: number;
  forgetAuthors?: number;
  holdout?: string;
  forget?: string;
  retain?: string;
  forgetQa?: string;
  retainQa?: string;
  /** qa: TOFU-format items no model saw (membership inference). */
  holdoutQa?: string;
  /** Multiple-choice files (--benchmark mc): forget side (must fall toward chance), retain side (must stay). */
  forgetMc?: string[];
  retainMc?: string[];
  /** lm-evaluation-harness's MMLU prompt variants: letters ('default') or option texts ('continuation'). */
  mcStyle?: McPromptStyle;
  /** Solved examples before each multiple-choice question (from --fewshot-mc). */
  numFewshot?: number;
  fewshotMc?: string;
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
  // A QA evaluation whose forget items have no perturbed answers has no truth ratios to compare.
  if (benchmark === 'tofu' || (benchmark === 'qa' && forgetItems > 0)) {
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
  // The AUC result itself, so PrivLeak gets an interval over forget and holdout items.
  return privLeak(mia!.minKAuc, retain?.minKAuc ?? null);
}

/**
 * Evaluates the model folder `opts.model` and writes the results file to `opts.out`. Returns
 * the results record, the metric families and the path written. Throws LetheError for
 * unreadable models or data, and for retain results that do not match this evaluation's items.
 */
export async function evaluateModel(opts: EvaluationOptions): Promise<{ results: Results; metrics: MetricFamilies; path: string }> {
  const resolved = opts;
  const meter = new EvalMeter();
  const { model, tokenizer } = await loadPair(resolved.model);
  const reference = resolved.referenceModel ? await loadPair(resolved.referenceModel) : null;
  // The QA benchmark is TOFU's evaluation on the user's files: the same path from here on.
  const qa = resolved.benchmark === 'qa';
  const tofu = resolved.benchmark === 'tofu' || qa;
  const template: Pick<PromptTemplate, 'promptSpecialTokens' | 'appendEos'> = tofu ? pickTemplate(resolved.template, tokenizer) : TEXT_TEMPLATE;
  const referenceScorer = reference ? new CountingScorer(reference.model, reference.tokenizer, { template, batchSize: resolved.batchSize, contextLength: resolved.contextLength }, meter) : undefined;

  let metrics: MetricFamilies;
  let benchmark: Results['benchmark'];
  let multipleChoice: Results['multipleChoice'];
  try {
    if (resolved.benchmark === 'mc') {
      const sides = readMcSides(resolved.forgetMc ?? [], resolved.retainMc ?? []);
      const fewshotItems = resolved.fewshotMc ? readMultipleChoiceFile(resolved.fewshotMc) : undefined;
      const chatTemplate = pickTemplate(resolved.template, tokenizer).name !== 'plain';
      const style = resolved.mcStyle ?? 'default';
      const numFewshot = resolved.numFewshot ?? 0;
      const mc = await mcMetrics(model, tokenizer, sides, { meter, batchSize: resolved.batchSize, contextLength: resolved.contextLength, style, numFewshot, fewshotItems, chat: chatTemplate });
      metrics = mc.metrics;
      multipleChoice = { style, numFewshot, template: chatTemplate ? 'chat' : 'plain', sets: mc.sets };
      benchmark = {
        name: 'mc',
        forgetMc: sides.forget.map((f) => f.file),
        retainMc: sides.retain.map((f) => f.file),
        ...(resolved.fewshotMc ? { fewshotMc: resolved.fewshotMc } : {}),
        style, numFewshot,
        items: { forget: sides.forget.reduce((a, f) => a + f.items.length, 0), retain: sides.retain.reduce((a, f) => a + f.items.length, 0) },
      };
    } else if (tofu) {
      const fullTemplate = pickTemplate(resolved.template, tokenizer);
      const { sets, info } = qa
        ? qaSets({ forgetQa: resolved.forgetQa!, retainQa: resolved.retainQa!, holdoutQa: resolved.holdoutQa, limit: resolved.limit })
        : tofuSets({ forgetSplit: resolved.forgetSplit ?? DEFAULT_FORGET_SPLIT, tofuAuthors: resolved.tofuAuthors, forgetAuthors: resolved.forgetAuthors, holdout: resolved.holdout, limit: resolved.limit });
      benchmark = qa
        ? { name: 'qa', forgetSplit: resolved.forgetQa, template: fullTemplate.name, maxNewTokens: resolved.maxNewTokens, ...info }
        : { name: 'tofu', ...(resolved.forgetSplit ? { forgetSplit: resolved.forgetSplit } : { forgetSplit: `${resolved.forgetAuthors}-of-${resolved.tofuAuthors}-authors` }), template: fullTemplate.name, maxNewTokens: resolved.maxNewTokens, ...info };
      const utilityOver = qa ? 'given' as const : 'tofu' as const;
      // Forget quality compares the truth ratios of the items that have perturbed answers.
      const truthRatioItems = sets.forget.filter((i) => i.perturbedAnswers?.length).length;
      let retain: RetainValues | null = null;
      if (resolved.retainResults) retain = retainValuesFromResults(await readResults(resolved.retainResults), resolved.retainResults, resolved.benchmark, truthRatioItems);
      else if (resolved.retainModel) retain = await retainModelValues(resolved.retainModel, (m, t) => tofuMetrics(m, t, sets, { template: pickTemplate(resolved.template, t), meter, batchSize: resolved.batchSize, contextLength: resolved.contextLength, maxNewTokens: null, utilityOver }));
      metrics = await tofuMetrics(model, tokenizer, sets, { template: fullTemplate, meter, batchSize: resolved.batchSize, contextLength: resolved.contextLength, maxNewTokens: resolved.maxNewTokens, retainTruthRatios: retain?.truthRatios ?? null, referenceScorer, gradNorm: true, utilityOver });
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
  const results = composeResults({ modelDir: resolved.model, name: resolved.name, role: resolved.role, benchmark, metrics, efficiency: meter.efficiency(), multipleChoice });
  const path = await writeResults(resolved.out, results);
  return { results, metrics, path };
}

async function retainModelValues(dir: string, evaluate: (m: Model, t: Tokenizer) => Promise<MetricFamilies>): Promise<RetainValues> {
  const { model, tokenizer } = await loadPair(dir);
  const m = await evaluate(model, tokenizer);
  return { truthRatios: m.tofu?.forgetTruthRatio?.perItem ?? null, minKAuc: m.mia?.minKAuc?.value ?? null, source: dir };
}

