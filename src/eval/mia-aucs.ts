// Membership-inference AUCs of members (the forget set) against non-members (a holdout set),
// from texts the shared scoring pass already scored: LOSS, ZLib, Min-K%, Min-K%++; Reference
// when a reference model's scorer is given (its NLL of the same texts); GradNorm when per-text
// gradient norms are.

import { unavailable, type MetricOptions, type MetricResult } from './metrics/metric-result.ts';
import { miaAuc, miaScores, type MiaAttack, type MiaItem } from './metrics/mia.ts';
import type { GradientNorms } from './grad-norms.ts';
import type { Scorer, ScoredText } from './score.ts';

export interface MiaSources {
  /** The reference model's scorer (the Reference attack). */
  referenceScorer?: Scorer;
  /** Per-text gradient norms (the GradNorm attack: a backward pass per text). */
  gradientNorms?: GradientNorms;
}

async function asMia(xs: ScoredText[], sources: MiaSources): Promise<MiaItem[]> {
  const texts = xs.map((x) => ({ prompt: x.prompt, target: x.target }));
  const ref = sources.referenceScorer ? await sources.referenceScorer.score(texts) : null;
  const norms = sources.gradientNorms ? await sources.gradientNorms.norms(texts) : null;
  return xs.map((x, i) => ({ tokenLogprobs: x.tokenLogprobs, text: x.target, tokenMean: x.tokenMean, tokenVariance: x.tokenVariance, referenceNll: ref?.[i].ce, gradientNorms: norms?.[i] }));
}

/** `${attack}Auc` for every attack the sources allow, each with its interval, n (forget items) and both samples' scores (`groups`). */
export async function miaAucs(members: ScoredText[], nonMembers: ScoredText[], sources: MiaSources = {}, options: MetricOptions = {}): Promise<Record<string, MetricResult>> {
  const [f, h] = [await asMia(members, sources), await asMia(nonMembers, sources)];
  const attacks: MiaAttack[] = ['loss', 'zlib', 'minK', 'minKPlusPlus', ...(sources.referenceScorer ? (['reference'] as const) : []), ...(sources.gradientNorms ? (['gradNorm'] as const) : [])];
  const out: Record<string, MetricResult> = {};
  for (const a of attacks) {
    // The mean scores are not reported, so they need no interval.
    const [fs, hs] = [miaScores(f, a, undefined, { bootstrap: false }), miaScores(h, a, undefined, { bootstrap: false })];
    out[`${a}Auc`] = fs.value === null || hs.value === null ? unavailable(fs.unavailable ?? hs.unavailable ?? 'no scores') : miaAuc(fs.perItem, hs.perItem, options);
  }
  return out;
}
