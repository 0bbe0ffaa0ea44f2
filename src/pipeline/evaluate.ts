// An evaluation as `lethe eval` runs it: one model → the metrics of a benchmark (TOFU: a forget
// split or a small author subset; text/MUSE: plain text files), what a retain model contributes
// (its forget-set truth ratios for forget quality, its Min-K% AUC for PrivLeak; evaluated here or
// read from its results file), the cost, all composed into one results record (lethe.results/1).

import { LetheError } from '../engine/errors.ts';
import { readQaJsonl, readTextItems, type QaItem } from '../data/qa-dataset.ts';
import type { PromptTemplate } from '../data/templates.ts';
import { unavailable, type MetricResult } from '../eval/metrics/metric-result.ts';
import { privLeak } from '../eval/metrics/mia.ts';
import type { Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { readResults, type Evaluated, type OverlapRecord, type OverlongRecord, type Results } from '../results/schema.ts';
import { DEFAULT_FORGET_SPLIT, pickTemplate } from './data-sources.ts';
import { CountingScorer, EvalMeter } from './eval-meter.ts';
import { TEXT_TEMPLATE, textMetrics, type TextSets } from './eval-text.ts';
import { qaSets, tofuMetrics, tofuSets } from './eval-tofu.ts';
import { mcMetrics, readMcSides } from './eval-mc.ts';
import { readMultipleChoiceFile } from '../data/multiple-choice.ts';
import type { McPromptStyle } from '../eval/multiple-choice/prompts.ts';
import { openModel, type ModelSourceOptions } from './model-source.ts';
import { composeResults, runInfo, writeResults, type MetricFamilies } from './results-file.ts';
import { checkSameEvaluation, dataRecord, referenceRoleWarning, tokenizerHash, weightsHash, type DataRecord } from './provenance.ts';
import { checkSets, invalidateByOverlap } from './set-overlap.ts';
import { fitQaItems, fitTexts } from './overlong.ts';
import { EVALUATION_OVERLONG, type OverlongPolicy } from '../data/batches.ts';

/** What to evaluate, every default applied (src/cli/run-eval.ts resolves them from flags). */
export interface EvaluationOptions {
  /** A model folder, a llama2.c .bin checkpoint (or its folder), or a Hub name org/name[@revision]; so are retainModel and referenceModel. */
  model: string;
  /** The tokenizer (file or folder) of `model` when it is not beside it. */
  tokenizer?: string;
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
  /** Items longer than the context: skip (default), truncate, or error (naming file and line). */
  overlong?: OverlongPolicy;
  /** Run even when sets share items: the overlap is recorded and the metrics it invalidates are unavailable. */
  allowOverlap?: boolean;
  /** The results file, or a folder to write results.json into. */
  out: string;
}

/** What a retain model contributes: its forget-set truth ratios (TOFU) and its Min-K% AUC. */
interface RetainValues {
  truthRatios: number[] | null;
  minKAuc: number | null;
  source: string;
}

/**
 * A retain model's values from its results file, after checking it evaluated the same forget
 * (and holdout) items with the same template and tokenizer; a role other than retain is a warning.
 */
function retainValuesFromResults(results: Results, file: string, benchmark: string, forgetItems: number, evaluated: Evaluated, warnings: string[]): RetainValues {
  checkSameEvaluation(evaluated, results, `--retain-results ${file}`, ['forget', 'holdout'], benchmark === 'tofu' || benchmark === 'qa' ? 'forget quality (and PrivLeak)' : 'PrivLeak');
  const warning = referenceRoleWarning(`--retain-results ${file}`, results);
  if (warning) warnings.push(warning);
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
  // The QA benchmark is TOFU's evaluation on the user's files: the same path from here on.
  const qa = resolved.benchmark === 'qa';
  const tofu = resolved.benchmark === 'tofu' || qa;
  const template: Pick<PromptTemplate, 'promptSpecialTokens' | 'appendEos'> = tofu ? pickTemplate(resolved.template, tokenizer) : TEXT_TEMPLATE;
  const referenceScorer = reference ? new CountingScorer(reference.model, reference.tokenizer, { template, batchSize: resolved.batchSize, contextLength: resolved.contextLength }, meter) : undefined;

  let metrics: MetricFamilies;
  let benchmark: Results['benchmark'];
  let overlap: OverlapRecord[] = [];
  const warnings: string[] = [];
  // What is evaluated, by content: the retain results must match it (checkSameEvaluation).
  const evaluated: Evaluated = { data: {}, tokenizer: tokenizerHash(tokenizer), weights: weightsHash(model) };
  const record = (set: string, r: DataRecord) => (evaluated.data[set] = r);
  // A --retain-model folder that a lethe run made says its role; one that is not the retain model is warned about.
  const retainModelRole = resolved.retainModel ? runInfo(resolved.retainModel).role : undefined;
  if (retainModelRole && retainModelRole !== 'retain') warnings.push(`--retain-model ${resolved.retainModel}: its role is ${retainModelRole}, not retain: forget quality and PrivLeak against it do not measure forgetting against a model that never saw the forget set`);
  // Items longer than the context are handled before scoring, per --overlong, and counted.
  const overlong: Record<string, OverlongRecord> = {};
  const policy = resolved.overlong ?? EVALUATION_OVERLONG;
  const contextLength = resolved.contextLength ?? model.config.maxPositions;
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
      const forgetSplit = resolved.forgetSplit ?? DEFAULT_FORGET_SPLIT;
      const { sets, info } = qa
        ? qaSets({ forgetQa: resolved.forgetQa!, retainQa: resolved.retainQa!, holdoutQa: resolved.holdoutQa, limit: resolved.limit })
        : tofuSets({ forgetSplit, tofuAuthors: resolved.tofuAuthors, forgetAuthors: resolved.forgetAuthors, holdout: resolved.holdout, limit: resolved.limit });
      benchmark = qa
        ? { name: 'qa', forgetSplit: resolved.forgetQa, template: fullTemplate.name, maxNewTokens: resolved.maxNewTokens, ...info }
        : { name: 'tofu', ...(resolved.forgetSplit ? { forgetSplit: resolved.forgetSplit } : { forgetSplit: `${resolved.forgetAuthors}-of-${resolved.tofuAuthors}-authors` }), template: fullTemplate.name, maxNewTokens: resolved.maxNewTokens, ...info };
      evaluated.template = fullTemplate.name;
      const qaFiles: Record<string, string | undefined> = { forget: resolved.forgetQa, retain: resolved.retainQa, holdout: resolved.holdoutQa };
      const origin = (set: string, split: string) => (qa ? qaFiles[set] ?? set : set === 'holdout' && resolved.holdout ? resolved.holdout : resolved.tofuAuthors !== undefined ? `tofu:${resolved.forgetAuthors}-of-${resolved.tofuAuthors}-authors/${set}` : `tofu:${split}`);
      const splits: Record<string, string> = { forget: `${forgetSplit}_perturbed`, retain: 'retain_perturbed', realAuthors: 'real_authors_perturbed', worldFacts: 'world_facts_perturbed', holdout: 'holdout' };
      for (const [set, items] of Object.entries(sets) as [string, QaItem[] | undefined][]) if (items?.length) record(set, dataRecord(origin(set, splits[set]), items));
      overlap = checkSets(Object.entries(sets).filter(([, items]) => items !== undefined).map(([name, items]) => ({ name, items: items as QaItem[] })), resolved.allowOverlap);
      for (const set of ['forget', 'retain', 'realAuthors', 'worldFacts', 'holdout'] as const) {
        const items = sets[set];
        if (!items?.length) continue;
        const fit = fitQaItems(tokenizer, fullTemplate, items, policy, contextLength);
        if (fit.record) overlong[set] = fit.record;
        sets[set] = fit.items;
      }
      const utilityOver = qa ? 'given' as const : 'tofu' as const;
      // Forget quality compares the truth ratios of the items that have perturbed answers.
      const truthRatioItems = sets.forget.filter((i) => i.perturbedAnswers?.length).length;
      let retain: RetainValues | null = null;
      if (resolved.retainResults) retain = retainValuesFromResults(await readResults(resolved.retainResults), resolved.retainResults, resolved.benchmark, truthRatioItems, evaluated, warnings);
      else if (resolved.retainModel) retain = await retainModelValues(await loadPair(resolved.retainModel), resolved.retainModel, (m, t) => tofuMetrics(m, t, sets, { template: pickTemplate(resolved.template, t), meter, batchSize: resolved.batchSize, contextLength: resolved.contextLength, maxNewTokens: null, utilityOver }));
      metrics = await tofuMetrics(model, tokenizer, sets, { template: fullTemplate, meter, batchSize: resolved.batchSize, contextLength: resolved.contextLength, maxNewTokens: resolved.maxNewTokens, retainTruthRatios: retain?.truthRatios ?? null, referenceScorer, gradNorm: true, utilityOver });
      metrics.mia.privLeak = privLeakOf(metrics.mia, retain);
      if (retain) benchmark.retain = retain.source;
    } else {
      // Text items keep their file and line, for overlap messages.
      const items = {
        forget: readTextItems(resolved.forget!),
        ...(resolved.retain ? { retain: readTextItems(resolved.retain) } : {}),
        ...(resolved.holdout ? { holdout: readTextItems(resolved.holdout) } : {}),
      };
      const fit = (set: string, list: typeof items.forget) => {
        const r = fitTexts(tokenizer, list, policy, contextLength);
        if (r.record) overlong[set] = r.record;
        return r.texts;
      };
      const sets: TextSets = {
        forget: fit('forget', items.forget),
        ...(items.retain ? { retain: fit('retain', items.retain) } : {}),
        ...(items.holdout ? { holdout: fit('holdout', items.holdout) } : {}),
        ...(resolved.forgetQa ? { forgetQa: readQaJsonl(resolved.forgetQa) } : {}),
        ...(resolved.retainQa ? { retainQa: readQaJsonl(resolved.retainQa) } : {}),
      };
      for (const [set, list] of Object.entries(items)) record(set, dataRecord(resolved[set as 'forget' | 'retain' | 'holdout']!, list));
      for (const set of ['forgetQa', 'retainQa'] as const) if (sets[set]) record(set, dataRecord(resolved[set]!, sets[set]));
      evaluated.template = 'text';
      overlap = checkSets([
        ...Object.entries(items).map(([name, list]) => ({ name, items: list })),
        ...(['forgetQa', 'retainQa'] as const).filter((k) => sets[k]).map((k) => ({ name: k, items: sets[k]! })),
      ], resolved.allowOverlap);
      const options = { meter, batchSize: resolved.batchSize, contextLength: resolved.contextLength, prefixTokens: resolved.prefixTokens, maxNewTokens: resolved.maxNewTokens, fewShot: resolved.fewShot };
      benchmark = {
        name: resolved.benchmark as 'text' | 'muse',
        forgetSplit: resolved.forget,
        ...Object.fromEntries((['retain', 'holdout', 'forgetQa', 'retainQa'] as const).filter((k) => resolved[k]).map((k) => [k, resolved[k]])),
        prefixTokens: resolved.prefixTokens, maxNewTokens: resolved.maxNewTokens, items: { forget: sets.forget.length, holdout: sets.holdout?.length ?? 0 },
      };
      let retain: RetainValues | null = null;
      if (resolved.retainResults) retain = retainValuesFromResults(await readResults(resolved.retainResults), resolved.retainResults, 'text', sets.forget.length, evaluated, warnings);
      else if (resolved.retainModel) retain = await retainModelValues(await loadPair(resolved.retainModel), resolved.retainModel, (m, t) => textMetrics(m, t, { forget: sets.forget, holdout: sets.holdout }, { ...options, maxNewTokens: null }));
      metrics = await textMetrics(model, tokenizer, sets, { ...options, referenceScorer });
      metrics.mia.privLeak = privLeakOf(metrics.mia, retain);
      if (retain) benchmark.retain = retain.source;
    }
  } finally {
    await referenceScorer?.dispose();
  }
  invalidateByOverlap(metrics, overlap);
  for (const [set, r] of Object.entries(overlong)) warnings.push(`--overlong ${r.policy}: ${set}: ${r.skipped ? `${r.skipped} skipped` : ''}${r.skipped && r.truncated ? ', ' : ''}${r.truncated ? `${r.truncated} truncated` : ''} (longer than the ${contextLength}-token context; first: ${r.items[0].where}, ${r.items[0].tokens} tokens)`);
  for (const o of overlap) warnings.push(`--allow-overlap: ${o.sets[0]} and ${o.sets[1]} share ${o.count} item${o.count === 1 ? '' : 's'} (first: ${o.items[0].first.where} and ${o.items[0].second.where})`);
  benchmark.tokensScored = meter.tokensScored;
  benchmark.tokensGenerated = meter.tokensGenerated;
  // A Hub model is named as the Hub names it (its local folder is a snapshot named by its commit).
  const results = composeResults({ modelDir: input.path, name: resolved.name ?? input.hub ?? undefined, role: resolved.role, benchmark, metrics, efficiency: meter.efficiency(), multipleChoice, evaluated, overlap, overlong, warnings });
  const path = await writeResults(resolved.out, results);
  return { results, metrics, path };
}

async function retainModelValues({ model, tokenizer }: { model: Model; tokenizer: Tokenizer }, source: string, evaluate: (m: Model, t: Tokenizer) => Promise<MetricFamilies>): Promise<RetainValues> {
  const m = await evaluate(model, tokenizer);
  return { truthRatios: m.tofu?.forgetTruthRatio?.perItem ?? null, minKAuc: m.mia?.minKAuc?.value ?? null, source };
}

