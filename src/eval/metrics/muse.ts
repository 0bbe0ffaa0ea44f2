/**
 * MUSE's memorisation metrics (Shi et al. 2024), from greedy generations: ROUGE-L F1 of each
 * generation against its reference, averaged. MUSE scores with rouge_score's
 * `RougeScorer(..., use_stemmer=False)` and reports ×100; these return the fraction in [0, 1]
 * and take `stem` as an option (default false, as MUSE).
 *
 * - VerbMem: prompt with a prefix of a forget text, reference = the true continuation
 *   (truncated to 128 tokens by the caller), generation = 128 greedy tokens.
 * - KnowMem: few-shot QA prompts, reference = the answer, generation = up to 32 greedy tokens cut
 *   at a blank line or "Question"; on the forget set (lower is better) and the retain set (utility).
 */
import { rougeL } from '../stats/rouge.ts';
import { meanResult, type MetricResult } from './metric-result.ts';

export interface GenerationPair {
  generation: string;
  reference: string;
}

function meanRougeF1(pairs: readonly GenerationPair[], stem: boolean, what: string): MetricResult {
  return meanResult(pairs.map((p) => rougeL(p.reference, p.generation, { stem }).f1), what);
}

export function verbMem(pairs: readonly GenerationPair[], options: { stem?: boolean } = {}): MetricResult {
  return meanRougeF1(pairs, options.stem ?? false, 'VerbMem');
}

export function knowMem(pairs: readonly GenerationPair[], options: { stem?: boolean } = {}): MetricResult {
  return meanRougeF1(pairs, options.stem ?? false, 'KnowMem');
}
