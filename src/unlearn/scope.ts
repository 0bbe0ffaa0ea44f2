// What an unlearning run updates (REFERENCE.md, "Choosing what to update"): all parameters, a
// name pattern (e.g. RMU's down-projections), LoRA adapters (merged on export), or a saliency
// mask keeping the top fraction of weights trainable, the localisation-informed approach.

import { z } from 'zod';
import { LetheError } from '../engine/errors.ts';
import { LORA_DEFAULTS } from '../models/lora.ts';
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

/** A scope as a user gives it (config files, library calls): every field but the kind optional. */
const fraction = z.number().gt(0, 'expected a fraction in (0, 1]').max(1, 'expected a fraction in (0, 1]');

export const scopeObjectSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('all') }),
  z.strictObject({ kind: z.literal('pattern'), pattern: z.string().min(1) }),
  z.strictObject({
    kind: z.literal('lora'),
    r: z.number().int().positive().optional(),
    alpha: z.number().positive().optional(),
    dropout: z.number().min(0).lt(1).optional(),
    targets: z.array(z.string().min(1)).optional(),
  }),
  z.strictObject({ kind: z.literal('saliency'), score: z.enum(['wagle', 'gradient']).optional(), keep: fraction.optional(), mu: z.number().positive().optional() }),
]);

export type ScopeInput = z.infer<typeof scopeObjectSchema>;

/** The scope with its defaults: LoRA rank 8, alpha 32, dropout 0.05 (TOFU's recipe); saliency WAGLE keeping 5%, μ = 1e-6. */
export function resolveScope(scope: ScopeInput): ScopeOptions {
  switch (scope.kind) {
    case 'all':
    case 'pattern':
      return scope;
    case 'lora':
      return { kind: 'lora', r: scope.r ?? LORA_DEFAULTS.r, alpha: scope.alpha ?? LORA_DEFAULTS.alpha, dropout: scope.dropout ?? LORA_DEFAULTS.dropout, ...(scope.targets ? { targets: scope.targets } : {}) };
    case 'saliency':
      return { kind: 'saliency', score: scope.score ?? 'wagle', keep: scope.keep ?? 0.05, mu: scope.mu ?? 1e-6 };
  }
}

/** The short form for summaries: "lora:8,32,0.05" (r, alpha, dropout), "saliency:wagle:0.05". */
export function scopeLabel(scope: ScopeOptions): string {
  switch (scope.kind) {
    case 'all':
      return 'all';
    case 'pattern':
      return `pattern:${scope.pattern}`;
    case 'lora':
      return `lora:${scope.r},${scope.alpha},${scope.dropout}`;
    case 'saliency':
      return `saliency:${scope.score}:${scope.keep}`;
  }
}
