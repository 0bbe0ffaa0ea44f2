// What every attack returns: the scores of the attacked model before and after the attack, and
// the fraction of the forgotten knowledge that came back (REFERENCE.md, robustness attacks; the
// results schema's `attacks` entries have exactly this shape, minus the name).

/** Scores of one measurement. Extra keys name further scores (retainProb, heldOutForgetProb, …). */
export interface AttackScores {
  /** Mean over forget items of p̄ = exp(−ce) of the true answer (teacher-forced). */
  forgetProb: number;
  /** Mean ROUGE-L recall (stemmed) of greedy generations against the answers; absent without generation. */
  forgetRouge?: number;
  [score: string]: number | undefined;
}

export interface AttackOutcome {
  /** relearn, quantize_4bit, prompts.paraphrase, … */
  name: string;
  before: AttackScores;
  after: AttackScores;
  /** (after − before) / (target − before) on forget Prob; null when undefined. */
  recovered: number | null;
  details: Record<string, unknown>;
}

/**
 * recovered = (after − before) / (target − before), target the forget Prob of the model before
 * unlearning: 0 when the attack brought nothing back, 1 when it brought back everything that
 * unlearning removed (it can exceed 1 or be negative). Null when the target is unknown or when
 * target = before (nothing was forgotten, so no fraction of it can come back).
 */
export function recoveredFraction(before: number, after: number, target: number | null | undefined): number | null {
  if (target === null || target === undefined) return null;
  const forgotten = target - before;
  if (!Number.isFinite(forgotten) || Math.abs(forgotten) < 1e-12) return null;
  return (after - before) / forgotten;
}

export const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length === 0 ? NaN : s / xs.length;
};

/** The mean of `xs` at positions `at`. */
export const meanAt = (xs: ArrayLike<number>, at: readonly number[]): number => mean(at.map((i) => xs[i]));
