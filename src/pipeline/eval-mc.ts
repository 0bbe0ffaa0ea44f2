// The multiple-choice evaluation as `lethe eval --benchmark mc` runs it: forget-side sets (what
// must fall toward chance, WMDP-style) and retain-side sets (what must stay, MMLU-style), each
// file scored the lm-evaluation-harness way (src/eval/multiple-choice) and reported apart, then
// each side pooled (the union of its items, with the harness's pooled standard error). Every
// accuracy also carries a seeded 95% percentile bootstrap interval over items.

import { LetheError } from '../engine/errors.ts';
import { readMultipleChoiceFile, type McItem } from '../data/multiple-choice.ts';
import { meanResult, type MetricResult } from '../eval/metrics/metric-result.ts';
import type { McPromptStyle } from '../eval/multiple-choice/prompts.ts';
import { evaluateMultipleChoice, poolMc, type McSetResult } from '../eval/multiple-choice/score-mc.ts';
import type { MeanWithStderr } from '../eval/multiple-choice/stderr.ts';
import { Scorer } from '../eval/score.ts';
import { meanInterval } from '../eval/stats/bootstrap.ts';
import type { Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import type { McSetRecord } from '../results/schema.ts';
import { CountingScorer, type EvalMeter } from './eval-meter.ts';
import type { MetricFamilies } from './results-file.ts';

export type McSide = 'forget' | 'retain';

/** One multiple-choice file and its items. */
export interface McFile {
  file: string;
  items: McItem[];
}

export interface McSides {
  forget: McFile[];
  retain: McFile[];
}

/** Reads every file of both sides (file:line errors from readMultipleChoiceFile); refuses a side with a file twice. */
export function readMcSides(forget: readonly string[], retain: readonly string[]): McSides {
  if (forget.length === 0 && retain.length === 0) throw new LetheError('--benchmark mc needs at least one --forget-mc or --retain-mc file');
  const all = [...forget, ...retain];
  const twice = all.find((f, i) => all.indexOf(f) !== i);
  if (twice !== undefined) throw new LetheError(`${twice}: given twice (a set belongs to one side, once)`);
  const read = (files: readonly string[]) => files.map((file) => ({ file, items: readMultipleChoiceFile(file) }));
  return { forget: read(forget), retain: read(retain) };
}

export interface McRunOptions {
  meter?: EvalMeter;
  batchSize: number;
  contextLength?: number;
  style: McPromptStyle;
  numFewshot: number;
  /** The few-shot split (a dev set), needed when numFewshot > 0. */
  fewshotItems?: McItem[];
  /** Chat prompts through the tokenizer's chat template (the harness's --apply_chat_template). */
  chat: boolean;
  /** Prepend BOS to the context (the harness's add_bos_token). Default false. */
  addBosToken?: boolean;
  /** The task description: default the harness's sentence about each item's subject; a string verbatim; null none. */
  description?: string | null;
}

/** What an MC evaluation gives: headline metrics (pooled per side), one record per file and pool, and the raw set results. */
export interface McEvaluation {
  metrics: MetricFamilies;
  sets: McSetRecord[];
  results: { side: McSide; result: McSetResult; file?: string }[];
}

function accuracyRecord(m: MeanWithStderr): McSetRecord['acc'] {
  const interval = m.value === null ? undefined : meanInterval(m.perItem);
  return {
    value: m.value,
    ...(m.unavailable ? { unavailable: m.unavailable } : {}),
    stderr: m.stderr,
    ...(m.stderrUnavailable ? { stderrUnavailable: m.stderrUnavailable } : {}),
    ...(interval ? { interval: JSON.parse(JSON.stringify(interval)) as NonNullable<McSetRecord['acc']['interval']> } : {}),
    perItem: m.perItem,
  };
}

/** The results-file record of one set result. */
export function mcSetRecord(side: McSide, result: McSetResult, file?: string): McSetRecord {
  return {
    side,
    name: result.name,
    ...(file === undefined ? {} : { file }),
    pooled: file === undefined,
    items: result.items.length,
    chance: Number.isFinite(result.chance) ? result.chance : null,
    acc: accuracyRecord(result.acc),
    accNorm: accuracyRecord(result.accNorm),
    accBytes: accuracyRecord(result.accBytes),
    tokenisationMismatches: result.tokenisationMismatches,
  };
}

/**
 * Scores every file of both sides on one model: per file and pooled per side. The headline
 * family `mc` holds each side's pooled acc, acc_norm and chance (forgetAcc, retainAccNorm, …)
 * with per-item values and bootstrap intervals.
 */
export async function mcMetrics(model: Model, tokenizer: Tokenizer, sides: McSides, opts: McRunOptions): Promise<McEvaluation> {
  const template = { promptSpecialTokens: opts.addBosToken ?? false, appendEos: false };
  const scorerOptions = { template, batchSize: opts.batchSize, contextLength: opts.contextLength };
  // A plain Scorer when nothing is metered (the probe during unlearning).
  const scorer = opts.meter ? new CountingScorer(model, tokenizer, scorerOptions, opts.meter) : new Scorer(model, tokenizer, scorerOptions);
  const evalOptions = {
    style: opts.style,
    numFewshot: opts.numFewshot,
    fewshotItems: opts.fewshotItems,
    addBosToken: opts.addBosToken ?? false,
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    ...(opts.chat ? { chat: { tokenizer } } : {}),
  };
  const mc: Record<string, MetricResult> = {};
  const sets: McSetRecord[] = [];
  const results: McEvaluation['results'] = [];
  try {
    for (const side of ['forget', 'retain'] as const) {
      const files = sides[side];
      if (files.length === 0) continue;
      const each: McSetResult[] = [];
      for (const f of files) {
        const result = await evaluateMultipleChoice(scorer, f.items, f.file, evalOptions);
        each.push(result);
        results.push({ side, result, file: f.file });
        sets.push(mcSetRecord(side, result, f.file));
      }
      const pooled = poolMc(`${side} (pooled)`, each);
      results.push({ side, result: pooled });
      sets.push(mcSetRecord(side, pooled));
      mc[`${side}Acc`] = meanResult(pooled.acc.perItem, `${side} acc`);
      mc[`${side}AccNorm`] = meanResult(pooled.accNorm.perItem, `${side} acc_norm`);
      mc[`${side}Chance`] = { value: pooled.chance, perItem: [], n: pooled.items.length };
    }
  } finally {
    await scorer.dispose();
  }
  return { metrics: { mc }, sets, results };
}
