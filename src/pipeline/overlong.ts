// Items longer than the model's context, before anything is scored or trained: `--overlong
// error|skip|truncate` (training default error, evaluation default skip; src/data/batches.ts),
// with every such item named by file and line and counted in results.json (`overlong`).

import { itemWhere, prepareEvalPairs, type OverlongPolicy, type OverlongReport } from '../data/batches.ts';
import type { QaItem, TextItem } from '../data/qa-dataset.ts';
import { templatePairs, textPairs, type PromptPair, type PromptTemplate } from '../data/templates.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import type { OverlongRecord } from '../results/schema.ts';

export interface FitOptions {
  contextLength: number;
  policy: OverlongPolicy;
  promptSpecialTokens: boolean;
  appendEos: boolean;
}

/** A report as results.json holds it; null when no item was too long. */
export function overlongRecord(report: OverlongReport): OverlongRecord | null {
  if (report.skipped.length === 0 && report.truncated.length === 0) return null;
  const items = [
    ...report.skipped.map((i) => ({ where: i.where, tokens: i.tokens, action: 'skipped' as const, index: i.index })),
    ...report.truncated.map((i) => ({ where: i.where, tokens: i.tokens, action: 'truncated' as const, index: i.index })),
  ].sort((a, b) => a.index - b.index).map(({ index: _index, ...rest }) => rest);
  return { policy: report.policy, skipped: report.skipped.length, truncated: report.truncated.length, items };
}

/** Pairs that fit the context under the policy (throws LetheError naming file:line for 'error'), and the record. */
export function fitPairs(tokenizer: Tokenizer, pairs: readonly PromptPair[], o: FitOptions): { pairs: PromptPair[]; indices: number[]; record: OverlongRecord | null } {
  const prepared = prepareEvalPairs(tokenizer, pairs, { contextLength: o.contextLength, overlong: o.policy, promptSpecialTokens: o.promptSpecialTokens, appendEos: o.appendEos });
  return { pairs: prepared.pairs, indices: prepared.indices, record: overlongRecord(prepared.overlong) };
}

/**
 * Question/answer items that fit the context through `template`. Every text the TOFU metrics
 * score counts: the answer, the paraphrased answer, each perturbed answer (the truth ratio) and
 * the paraphrased question with the answer. An item any of them does not fit is, per policy: an
 * error naming its file and line; skipped; or (truncate) kept with its answer cut when only the
 * answer is too long, skipped otherwise (nothing but the answer is ever cut).
 */
export function fitQaItems(tokenizer: Tokenizer, template: PromptTemplate, items: readonly QaItem[], policy: OverlongPolicy, contextLength: number): { items: QaItem[]; record: OverlongRecord | null } {
  const fitOptions = { contextLength, promptSpecialTokens: template.promptSpecialTokens, appendEos: template.appendEos };
  // The other scored variants of each item, with the item's source so errors name its line.
  const variants: { item: number; pair: PromptPair }[] = [];
  items.forEach((item, i) => {
    const answers = [item.paraphrasedAnswer, ...(item.perturbedAnswers ?? [])].filter((a): a is string => a !== undefined && a !== '');
    for (const answer of answers) variants.push({ item: i, pair: { ...template.pair(item.question, answer), ...(item.source ? { source: item.source } : {}) } });
    if (item.paraphrasedQuestion) variants.push({ item: i, pair: { ...template.pair(item.paraphrasedQuestion, item.answer), ...(item.source ? { source: item.source } : {}) } });
  });
  const checked = prepareEvalPairs(tokenizer, variants.map((v) => v.pair), { ...fitOptions, overlong: policy === 'error' ? 'error' : 'skip' });
  const tooLong = new Map<number, number>(); // item → its longest variant's tokens
  for (const o of checked.overlong.skipped) tooLong.set(variants[o.index].item, Math.max(tooLong.get(variants[o.index].item) ?? 0, o.tokens));
  const pairs = templatePairs(template, items);
  const fit = fitPairs(tokenizer, pairs, { ...fitOptions, policy });
  const report: OverlongReport = { policy, skipped: [], truncated: [] };
  const answerCut = new Map<number, PromptPair>();
  fit.pairs.forEach((pair, k) => answerCut.set(fit.indices[k], pair));
  const answerReport = new Map([...(prepareSkipped(fit.record))]);
  const kept: QaItem[] = [];
  items.forEach((item, i) => {
    const where = itemWhere(item.source, i);
    const fitted = answerCut.get(i);
    const variantTokens = tooLong.get(i);
    if (fitted === undefined || variantTokens !== undefined || (fitted.target !== pairs[i].target && pairs[i].target !== item.answer)) {
      report.skipped.push({ index: i, where, tokens: Math.max(variantTokens ?? 0, answerReport.get(where) ?? 0), contextLength });
      return;
    }
    if (fitted.target === pairs[i].target) kept.push(item);
    else {
      kept.push({ ...item, answer: fitted.target });
      report.truncated.push({ index: i, where, tokens: answerReport.get(where) ?? 0, contextLength });
    }
  });
  return { items: kept, record: overlongRecord(report) };
}

/** "file:line" → tokens of each answer pair the context did not hold. */
function prepareSkipped(record: OverlongRecord | null): [string, number][] {
  return (record?.items ?? []).map((i) => [i.where, i.tokens]);
}

/** Text documents (scored whole, as raw text with BOS when the tokenizer adds one) that fit the context. */
export function fitTexts(tokenizer: Tokenizer, items: readonly TextItem[], policy: OverlongPolicy, contextLength: number): { texts: string[]; record: OverlongRecord | null } {
  const fit = fitPairs(tokenizer, textPairs(items), { contextLength, policy, promptSpecialTokens: true, appendEos: false });
  return { texts: fit.pairs.map((p) => p.target), record: fit.record };
}
