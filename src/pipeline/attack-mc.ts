// `lethe attack --benchmark mc`: the relearning attack on a capability (attacks/relearn-mc.ts).
// The model is fine-tuned on relearning text (part of the forget corpus, one document a line)
// and its multiple-choice accuracy on the forget-side and retain-side files is scored before and
// after, the lm-evaluation-harness way; with --target-model, `recovered` is the share of the
// forget accuracy unlearning removed that came back.

import { LetheError } from '../engine/errors.ts';
import { readTextSet } from '../data/qa-dataset.ts';
import { relearnMcAttack, mcAccuracies } from '../attacks/relearn-mc.ts';
import type { McPromptStyle } from '../eval/multiple-choice/prompts.ts';
import { z } from 'zod';
import { attackResultSchema, type Results } from '../results/schema.ts';
import { pickTemplate, type TemplateName } from './data-sources.ts';
import { readMcSides } from './eval-mc.ts';
import { openModel, type ModelSourceOptions } from './model-source.ts';

export interface McAttackRunOptions {
  /** The model to attack (a folder, a llama2.c .bin checkpoint or a Hub name). */
  model: string;
  tokenizer?: string;
  /** The model before unlearning, for `recovered`. */
  targetModel?: string;
  /** Multiple-choice files (WMDP .json/.jsonl, MMLU .csv) of the forget side (at least one) and the retain side. */
  forgetMc: string[];
  retainMc: string[];
  /** The relearning text: one document a line (e.g. data/capability/relays/corpus-train-facts.txt). */
  relearnText: string;
  /** default (letters, the harness's MMLU/WMDP prompt) or continuation (option texts). */
  mcStyle: McPromptStyle;
  /** The harness's task description about each item's subject ('subject', its default) or none. */
  mcDescription: 'subject' | 'none';
  /** The template relearning trains through (plain for a model trained on raw text). */
  template: TemplateName;
  relearnSteps?: number;
  relearnLr?: number;
  batchSize?: number;
  contextLength?: number;
  seed: number;
}

/**
 * Runs the relearning attack measured by MC accuracy; returns the schema-checked attacks record
 * `{ relearn_mc: {before, after, recovered, details} }` (scores forgetAcc, retainAcc, their
 * acc_norm and chance; details.intervals and forgetAccGain: 95% bootstrap intervals). Throws
 * LetheError naming the file and line of a malformed MC or text file.
 */
export async function runMcRelearnAttack(o: McAttackRunOptions, onResult?: (line: string) => void, sources: ModelSourceOptions = {}): Promise<NonNullable<Results['attacks']>> {
  if (o.forgetMc.length === 0) throw new LetheError('--benchmark mc: the relearning attack needs --forget-mc FILE (the accuracy that must stay low)');
  const sides = readMcSides(o.forgetMc, o.retainMc);
  const texts = readTextSet(o.relearnText);
  const { model, tokenizer } = await openModel(o.model, { ...sources, tokenizer: o.tokenizer });
  const template = pickTemplate(o.template, tokenizer);
  const scoring = { style: o.mcStyle, ...(o.mcDescription === 'none' ? { description: null } : {}), numFewshot: 0 };
  const forget = sides.forget.flatMap((f) => f.items);
  const retain = sides.retain.flatMap((f) => f.items);
  const common = { tokenizer, forget, retain, scoring, scoreBatchSize: o.batchSize, contextLength: o.contextLength };
  let targetForgetAcc: number | null = null;
  if (o.targetModel !== undefined) {
    const target = (await openModel(o.targetModel, { ...sources, tokenizer: o.tokenizer })).model;
    targetForgetAcc = (await mcAccuracies(target, common)).forget.acc.value;
  }
  const outcome = await relearnMcAttack(model, {
    ...common, template, texts, dataName: o.relearnText, steps: o.relearnSteps, lr: o.relearnLr, seed: o.seed, targetForgetAcc,
  });
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  onResult?.(`relearn_mc: forget accuracy ${pct(outcome.before.forgetAcc)} → ${pct(outcome.after.forgetAcc)}${retain.length ? `, retain accuracy ${pct(outcome.before.retainAcc)} → ${pct(outcome.after.retainAcc)}` : ''}, ${outcome.recovered === null ? 'recovered n/a' : `recovered ${(100 * outcome.recovered).toFixed(1)}%`}`);
  const record = JSON.parse(JSON.stringify({ [outcome.name]: { before: outcome.before, after: outcome.after, recovered: outcome.recovered, details: outcome.details } })) as unknown;
  const checked = z.record(z.string(), attackResultSchema).safeParse(record);
  if (!checked.success) throw new Error(`lethe attack produced results outside the schema: ${checked.error.message}`);
  return checked.data as NonNullable<Results['attacks']>;
}
