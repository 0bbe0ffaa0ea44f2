// An evaluation as `lethe eval` runs it: one model → the metrics of a benchmark (TOFU: a forget
// split or a small author subset; text/MUSE: plain text files), what a retain model contributes
// (its forget-set truth ratios for forget quality, its Min-K% AUC for PrivLeak; evaluated here or
// read from its results file), the cost, all composed into one results record (lethe.results/1).

import { LetheError } from '../engine/errors.ts';
import { readQaJsonl, readTextItems, type QaItem } from '../data/qa-dataset.ts';
import type { PromptTemplate } from '../data/templates.ts';
import { unavailable, type MetricResult } from '../eval/metrics/metric-result.ts';
import { privLeak } from '../eval/metrics/mia.ts';
import { resolveContextLength, type Model } from '../models/model.ts';
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
import { checkSameEvaluation, dataRecord, referenceRoleWarning, tokenizerHash, weightsHash } from './provenance.ts';
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

/** What every benchmark branch shares: the model under evaluation, the meter, and the records the results file keeps. */
interface EvalContext {
  opts: EvaluationOptions;
  model: Model;
  tokenizer: Tokenizer;
  meter: EvalMeter;
  referenceScorer: CountingScorer | undefined;
  loadPair: (spec: string) => Promise<{ model: Model; tokenizer: Tokenizer }>;
  /** What is evaluated, by content: the retain results must match it (checkSameEvaluation). */
  evaluated: Evaluated;
  warnings: string[];
  /** Items longer than the context, per set, as --overlong handled them. */
  overlong: Record<string, OverlongRecord>;
  policy: OverlongPolicy;
  contextLength: number;
}

/** One benchmark branch's part of the results record. */
interface BranchResult {
  metrics: MetricFamilies;
  benchmark: Results['benchmark'];
  overlap: OverlapRecord[];
  multipleChoice?: Results['multipleChoice'];
}

/**
 * Evaluates the model `opts.model` (a folder, a llama2.c checkpoint or a Hub name, through
 * `sources`' Hub options) and writes the results file to `opts.out`. Returns
 * the results record, the metric families and the path written. Throws LetheError for
 * unreadable models or data, and for retain results that do not match this evaluation's items.
 */
export async function evaluateModel(opts: EvaluationOptions, sources: ModelSourceOptions = {}): Promise<{ results: Results; metrics: MetricFamilies; path: string }> {
  const meter = new EvalMeter();
  // Evaluation only reads the models: BF16/F16 weights stay at their precision (half the memory).
  const loadPair = (spec: string) => openModel(spec, { ...sources, precision: 'checkpoint' });
  const { model, tokenizer, input } = await openModel(opts.model, { ...sources, tokenizer: opts.tokenizer, precision: 'checkpoint' });
  const reference = opts.referenceModel ? await loadPair(opts.referenceModel) : null;
  // The QA benchmark is TOFU's evaluation on the user's files: the same path from here on.
  const tofu = opts.benchmark === 'tofu' || opts.benchmark === 'qa';
  const template: Pick<PromptTemplate, 'promptSpecialTokens' | 'appendEos'> = tofu ? pickTemplate(opts.template, tokenizer) : TEXT_TEMPLATE;
  const referenceScorer = reference ? new CountingScorer(reference.model, reference.tokenizer, { template, batchSize: opts.batchSize, contextLength: opts.contextLength }, meter) : undefined;
  const ctx: EvalContext = {
    opts, model, tokenizer, meter, referenceScorer, loadPair,
    evaluated: { data: {}, tokenizer: tokenizerHash(tokenizer), weights: weightsHash(model) },
    warnings: [],
    overlong: {},
    policy: opts.overlong ?? EVALUATION_OVERLONG,
    contextLength: resolveContextLength(model.config, opts.contextLength),
  };
  // A --retain-model folder that a lethe run made says its role; one that is not the retain model is warned about.
  const retainModelRole = opts.retainModel ? runInfo(opts.retainModel).role : undefined;
  if (retainModelRole && retainModelRole !== 'retain') ctx.warnings.push(`--retain-model ${opts.retainModel}: its role is ${retainModelRole}, not retain: forget quality and PrivLeak against it do not measure forgetting against a model that never saw the forget set`);
  let branch: BranchResult;
  try {
    branch = opts.benchmark === 'mc' ? await evaluateMc(ctx) : tofu ? await evaluateTofu(ctx) : await evaluateText(ctx);
  } finally {
    await referenceScorer?.dispose();
  }
  const { metrics, benchmark, overlap, multipleChoice } = branch;
  invalidateByOverlap(metrics, overlap);
  ctx.warnings.push(...setWarnings(ctx.overlong, overlap, ctx.contextLength));
  benchmark.tokensScored = meter.tokensScored;
  benchmark.tokensGenerated = meter.tokensGenerated;
  // A Hub model is named as the Hub names it (its local folder is a snapshot named by its commit).
  const results = composeResults({ modelDir: input.path, name: opts.name ?? input.hub ?? undefined, role: opts.role, benchmark, metrics, efficiency: meter.efficiency(), multipleChoice, evaluated: ctx.evaluated, overlap, overlong: ctx.overlong, warnings: ctx.warnings });
  const path = await writeResults(opts.out, results);
  return { results, metrics, path };
}

/** The warnings that say which items --overlong skipped or truncated and which sets --allow-overlap let share items. */
function setWarnings(overlong: Record<string, OverlongRecord>, overlap: OverlapRecord[], contextLength: number): string[] {
  return [
    ...Object.entries(overlong).map(([set, r]) => `--overlong ${r.policy}: ${set}: ${r.skipped ? `${r.skipped} skipped` : ''}${r.skipped && r.truncated ? ', ' : ''}${r.truncated ? `${r.truncated} truncated` : ''} (longer than the ${contextLength}-token context; first: ${r.items[0].where}, ${r.items[0].tokens} tokens)`),
    ...overlap.map((o) => `--allow-overlap: ${o.sets[0]} and ${o.sets[1]} share ${o.count} item${o.count === 1 ? '' : 's'} (first: ${o.items[0].first.where} and ${o.items[0].second.where})`),
  ];
}

/** --benchmark mc: accuracy on the forget side (toward chance) and the retain side (kept). */
async function evaluateMc({ opts, model, tokenizer, meter }: EvalContext): Promise<BranchResult> {
  const sides = readMcSides(opts.forgetMc ?? [], opts.retainMc ?? []);
  const fewshotItems = opts.fewshotMc ? readMultipleChoiceFile(opts.fewshotMc) : undefined;
  const chatTemplate = pickTemplate(opts.template, tokenizer).name !== 'plain';
  const style = opts.mcStyle ?? 'default';
  const numFewshot = opts.numFewshot ?? 0;
  const mc = await mcMetrics(model, tokenizer, sides, { meter, batchSize: opts.batchSize, contextLength: opts.contextLength, style, numFewshot, fewshotItems, chat: chatTemplate });
  const benchmark: Results['benchmark'] = {
    name: 'mc',
    forgetMc: sides.forget.map((f) => f.file),
    retainMc: sides.retain.map((f) => f.file),
    ...(opts.fewshotMc ? { fewshotMc: opts.fewshotMc } : {}),
    style, numFewshot,
    items: { forget: sides.forget.reduce((a, f) => a + f.items.length, 0), retain: sides.retain.reduce((a, f) => a + f.items.length, 0) },
  };
  return { metrics: mc.metrics, benchmark, overlap: [], multipleChoice: { style, numFewshot, template: chatTemplate ? 'chat' : 'plain', sets: mc.sets } };
}

/** --benchmark tofu or qa: the TOFU sets (or the user's QA files), recorded, checked for overlap and fitted to the context. */
function readTofuSets(ctx: EvalContext, template: PromptTemplate) {
  const { opts } = ctx;
  const qa = opts.benchmark === 'qa';
  const forgetSplit = opts.forgetSplit ?? DEFAULT_FORGET_SPLIT;
  const { sets, info } = qa
    ? qaSets({ forgetQa: opts.forgetQa!, retainQa: opts.retainQa!, holdoutQa: opts.holdoutQa, limit: opts.limit })
    : tofuSets({ forgetSplit, tofuAuthors: opts.tofuAuthors, forgetAuthors: opts.forgetAuthors, holdout: opts.holdout, limit: opts.limit });
  const qaFiles: Record<string, string | undefined> = { forget: opts.forgetQa, retain: opts.retainQa, holdout: opts.holdoutQa };
  const origin = (set: string, split: string) => (qa ? qaFiles[set] ?? set : set === 'holdout' && opts.holdout ? opts.holdout : opts.tofuAuthors !== undefined ? `tofu:${opts.forgetAuthors}-of-${opts.tofuAuthors}-authors/${set}` : `tofu:${split}`);
  const splits: Record<string, string> = { forget: `${forgetSplit}_perturbed`, retain: 'retain_perturbed', realAuthors: 'real_authors_perturbed', worldFacts: 'world_facts_perturbed', holdout: 'holdout' };
  for (const [set, items] of Object.entries(sets) as [string, QaItem[] | undefined][]) if (items?.length) ctx.evaluated.data[set] = dataRecord(origin(set, splits[set]), items);
  const overlap = checkSets(Object.entries(sets).filter(([, items]) => items !== undefined).map(([name, items]) => ({ name, items: items as QaItem[] })), opts.allowOverlap);
  for (const set of ['forget', 'retain', 'realAuthors', 'worldFacts', 'holdout'] as const) {
    const items = sets[set];
    if (!items?.length) continue;
    const fit = fitQaItems(ctx.tokenizer, template, items, ctx.policy, ctx.contextLength);
    if (fit.record) ctx.overlong[set] = fit.record;
    // A set with nothing left would be scored on nothing: a data error, said before any scoring.
    if (fit.items.length === 0) throw new LetheError(`the ${set} set is empty after --overlong ${ctx.policy}: all ${items.length} items are longer than the ${ctx.contextLength}-token context (first: ${fit.record?.items[0]?.where ?? origin(set, splits[set])}); use a longer --context-length`);
    sets[set] = fit.items;
  }
  return { sets, info, overlap };
}

/** --benchmark tofu or qa: TOFU's metrics, forget quality against the retain model's truth ratios, PrivLeak. */
async function evaluateTofu(ctx: EvalContext): Promise<BranchResult> {
  const { opts, model, tokenizer, meter } = ctx;
  const qa = opts.benchmark === 'qa';
  const fullTemplate = pickTemplate(opts.template, tokenizer);
  const { sets, info, overlap } = readTofuSets(ctx, fullTemplate);
  const benchmark: Results['benchmark'] = qa
    ? { name: 'qa', forgetSplit: opts.forgetQa, template: fullTemplate.name, maxNewTokens: opts.maxNewTokens, ...info }
    : { name: 'tofu', ...(opts.forgetSplit ? { forgetSplit: opts.forgetSplit } : { forgetSplit: `${opts.forgetAuthors}-of-${opts.tofuAuthors}-authors` }), template: fullTemplate.name, maxNewTokens: opts.maxNewTokens, ...info };
  ctx.evaluated.template = fullTemplate.name;
  const utilityOver = qa ? 'given' as const : 'tofu' as const;
  // Forget quality compares the truth ratios of the items that have perturbed answers.
  const truthRatioItems = sets.forget.filter((i) => i.perturbedAnswers?.length).length;
  let retain: RetainValues | null = null;
  if (opts.retainResults) retain = retainValuesFromResults(await readResults(opts.retainResults), opts.retainResults, opts.benchmark, truthRatioItems, ctx.evaluated, ctx.warnings);
  else if (opts.retainModel) retain = await retainModelValues(await ctx.loadPair(opts.retainModel), opts.retainModel, (m, t) => tofuMetrics(m, t, sets, { template: pickTemplate(opts.template, t), meter, batchSize: opts.batchSize, contextLength: opts.contextLength, maxNewTokens: null, utilityOver }));
  const metrics = await tofuMetrics(model, tokenizer, sets, { template: fullTemplate, meter, batchSize: opts.batchSize, contextLength: opts.contextLength, maxNewTokens: opts.maxNewTokens, retainTruthRatios: retain?.truthRatios ?? null, referenceScorer: ctx.referenceScorer, gradNorm: true, utilityOver });
  metrics.mia.privLeak = privLeakOf(metrics.mia, retain);
  if (retain) benchmark.retain = retain.source;
  return { metrics, benchmark, overlap };
}

/** --benchmark text or muse: the text files (and QA files), recorded, fitted to the context and checked for overlap. */
function readTextSets(ctx: EvalContext) {
  const { opts } = ctx;
  // Text items keep their file and line, for overlap messages.
  const items = {
    forget: readTextItems(opts.forget!),
    ...(opts.retain ? { retain: readTextItems(opts.retain) } : {}),
    ...(opts.holdout ? { holdout: readTextItems(opts.holdout) } : {}),
  };
  const fit = (set: string, list: typeof items.forget) => {
    const r = fitTexts(ctx.tokenizer, list, ctx.policy, ctx.contextLength);
    if (r.record) ctx.overlong[set] = r.record;
    return r.texts;
  };
  const sets: TextSets = {
    forget: fit('forget', items.forget),
    ...(items.retain ? { retain: fit('retain', items.retain) } : {}),
    ...(items.holdout ? { holdout: fit('holdout', items.holdout) } : {}),
    ...(opts.forgetQa ? { forgetQa: readQaJsonl(opts.forgetQa) } : {}),
    ...(opts.retainQa ? { retainQa: readQaJsonl(opts.retainQa) } : {}),
  };
  for (const [set, list] of Object.entries(items)) ctx.evaluated.data[set] = dataRecord(opts[set as 'forget' | 'retain' | 'holdout']!, list);
  for (const set of ['forgetQa', 'retainQa'] as const) if (sets[set]) ctx.evaluated.data[set] = dataRecord(opts[set]!, sets[set]);
  ctx.evaluated.template = 'text';
  const overlap = checkSets([
    ...Object.entries(items).map(([name, list]) => ({ name, items: list })),
    ...(['forgetQa', 'retainQa'] as const).filter((k) => sets[k]).map((k) => ({ name: k, items: sets[k]! })),
  ], opts.allowOverlap);
  return { sets, overlap };
}

/** --benchmark text or muse: MUSE-style memorisation, knowledge and Min-K% metrics, PrivLeak against the retain model. */
async function evaluateText(ctx: EvalContext): Promise<BranchResult> {
  const { opts, model, tokenizer, meter } = ctx;
  const { sets, overlap } = readTextSets(ctx);
  const options = { meter, batchSize: opts.batchSize, contextLength: opts.contextLength, prefixTokens: opts.prefixTokens, maxNewTokens: opts.maxNewTokens, fewShot: opts.fewShot };
  const benchmark: Results['benchmark'] = {
    name: opts.benchmark as 'text' | 'muse',
    forgetSplit: opts.forget,
    ...Object.fromEntries((['retain', 'holdout', 'forgetQa', 'retainQa'] as const).filter((k) => opts[k]).map((k) => [k, opts[k]])),
    prefixTokens: opts.prefixTokens, maxNewTokens: opts.maxNewTokens, items: { forget: sets.forget.length, holdout: sets.holdout?.length ?? 0 },
  };
  let retain: RetainValues | null = null;
  if (opts.retainResults) retain = retainValuesFromResults(await readResults(opts.retainResults), opts.retainResults, 'text', sets.forget.length, ctx.evaluated, ctx.warnings);
  else if (opts.retainModel) retain = await retainModelValues(await ctx.loadPair(opts.retainModel), opts.retainModel, (m, t) => textMetrics(m, t, { forget: sets.forget, holdout: sets.holdout }, { ...options, maxNewTokens: null }));
  const metrics = await textMetrics(model, tokenizer, sets, { ...options, referenceScorer: ctx.referenceScorer });
  metrics.mia.privLeak = privLeakOf(metrics.mia, retain);
  if (retain) benchmark.retain = retain.source;
  return { metrics, benchmark, overlap };
}

async function retainModelValues({ model, tokenizer }: { model: Model; tokenizer: Tokenizer }, source: string, evaluate: (m: Model, t: Tokenizer) => Promise<MetricFamilies>): Promise<RetainValues> {
  const m = await evaluate(model, tokenizer);
  return { truthRatios: m.tofu?.forgetTruthRatio?.perItem ?? null, minKAuc: m.mia?.minKAuc?.value ?? null, source };
}

