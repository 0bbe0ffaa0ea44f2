// Items longer than the model's context, before anything is scored or trained: `--overlong
// error|skip|truncate` (training default error, evaluation default skip; src/data/batches.ts),
// with every such item named by file and line and counted in results.json (`overlong`).

import { prepareEvalPairs, type OverlongPolicy, type OverlongReport } from '../data/batches.ts';
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
 * Question/answer items that fit the context through `template`: kept as they are, or with the
 * answer cut (truncate; an item whose template does not end its prompt pair with the bare
 * answer is skipped instead, so nothing but the answer is ever cut).
 */
export function fitQaItems(tokenizer: Tokenizer, template: PromptTemplate, items: readonly QaItem[], policy: OverlongPolicy, contextLength: number): { items: QaItem[]; record: OverlongRecord | null } {
  const pairs = templatePairs(template, items);
  const fit = fitPairs(tokenizer, pairs, { contextLength, policy, promptSpecialTokens: template.promptSpecialTokens, appendEos: template.appendEos });
  const kept: QaItem[] = [];
  fit.pairs.forEach((pair, k) => {
    const item = items[fit.indices[k]];
    if (pair.target === pairs[fit.indices[k]].target) kept.push(item);
    else if (pairs[fit.indices[k]].target === item.answer) kept.push({ ...item, answer: pair.target });
  });
  return { items: kept, record: fit.record };
}

/** Text documents (scored whole, as raw text with BOS when the tokenizer adds one) that fit the context. */
export function fitTexts(tokenizer: Tokenizer, items: readonly TextItem[], policy: OverlongPolicy, contextLength: number): { texts: string[]; record: OverlongRecord | null } {
  const fit = fitPairs(tokenizer, textPairs(items), { contextLength, policy, promptSpecialTokens: true, appendEos: false });
  return { texts: fit.pairs.map((p) => p.target), record: fit.record };
}
