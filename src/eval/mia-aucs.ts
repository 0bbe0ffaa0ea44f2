// Membership-inference AUCs of members (the forget set) against non-members (a holdout set),
// from texts the shared scoring pass already scored: LOSS, ZLib, Min-K%, Min-K%++, and Reference
// when a reference model's scorer is given (its NLL of the same texts).

import { unavailable, type MetricResult } from './metrics/metric-result.ts';
import { miaAuc, miaScores, type MiaAttack, type MiaItem } from './metrics/mia.ts';
import type { Scorer, ScoredText } from './score.ts';

async function asMia(xs: ScoredText[], referenceScorer?: Scorer): Promise<MiaItem[]> {
  const ref = referenceScorer ? await referenceScorer.score(xs.map((x) => ({ prompt: x.prompt, target: x.target }))) : null;
  return xs.map((x, i) => ({ tokenLogprobs: x.tokenLogprobs, text: x.target, tokenMean: x.tokenMean, tokenVariance: x.tokenVariance, referenceNll: ref?.[i].ce }));
}

export async function miaAucs(members: ScoredText[], nonMembers: ScoredText[], referenceScorer?: Scorer): Promise<Record<string, MetricResult>> {
  const [f, h] = [await asMia(members, referenceScorer), await asMia(nonMembers, referenceScorer)];
  const attacks: MiaAttack[] = ['loss', 'zlib', 'minK', 'minKPlusPlus', ...(referenceScorer ? (['reference'] as const) : [])];
  const out: Record<string, MetricResult> = {};
  for (const a of attacks) {
    const [fs, hs] = [miaScores(f, a), miaScores(h, a)];
    out[`${a}Auc`] = fs.value === null || hs.value === null ? unavailable(fs.unavailable ?? hs.unavailable ?? 'no scores') : miaAuc(fs.perItem, hs.perItem);
  }
  return out;
}
