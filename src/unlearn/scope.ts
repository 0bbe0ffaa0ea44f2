// What an unlearning run updates (REFERENCE.md, "Choosing what to update"): all parameters, a
// name pattern (e.g. RMU's down-projections), LoRA adapters (merged on export), or a saliency
// mask keeping the top fraction of weights trainable, the localisation-informed approach.

import { LetheError } from '../engine/errors.ts';
import type { Model } from '../models/model.ts';

/** The learning rate of TOFU's LoRA recipe (adapters learn at a larger rate than full weights). */
export const LORA_LR = 1e-4;

export type ScopeOptions =
  | { kind: 'all' }
  | { kind: 'pattern'; pattern: string }
  | { kind: 'lora'; r?: number; alpha?: number; dropout?: number; targets?: string[] }
  | {
      kind: 'saliency';
      /** 'wagle': |(θ − ∇L_r/μ) ⊙ ∇L_f| (WAGLE); 'gradient': |∇L_f| (SalUn-style). */
      score: 'wagle' | 'gradient';
      /** Fraction of weights kept trainable (WAGLE's TOFU NPO recipe keeps 5%). */
      keep: number;
      /** WAGLE's μ. Default 1e-6. */
      mu?: number;
    };

/** The parameter names a pattern scope trains. */
export function patternNames(model: Model, pattern: string): string[] {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (err) {
    throw new LetheError(`scope pattern "${pattern}" is not a valid regular expression: ${(err as Error).message}`);
  }
  const names = [...model.params.keys()].filter((n) => re.test(n));
  if (names.length === 0) throw new LetheError(`scope pattern "${pattern}" matches no parameter (e.g. ${[...model.params.keys()].slice(0, 3).join(', ')})`);
  return names;
}

/**
 * Global top-`keep` fraction of `scores` (name → per-weight score) as 0/1 masks: one threshold
 * over all tensors, as SalUn and WAGLE select weights.
 */
export function topFractionMasks(scores: ReadonlyMap<string, Float32Array>, keep: number): Map<string, Float32Array> {
  if (!(keep > 0 && keep <= 1)) throw new LetheError(`saliency keep fraction must be in (0, 1], got ${keep}`);
  let total = 0;
  for (const s of scores.values()) total += s.length;
  const all = new Float32Array(total);
  let at = 0;
  for (const s of scores.values()) {
    all.set(s, at);
    at += s.length;
  }
  all.sort();
  const k = Math.max(1, Math.round(keep * total));
  const threshold = all[total - k];
  const masks = new Map<string, Float32Array>();
  for (const [name, s] of scores) masks.set(name, Float32Array.from(s, (v) => (v >= threshold ? 1 : 0)));
  return masks;
}
