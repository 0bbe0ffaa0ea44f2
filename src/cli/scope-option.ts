// The `--scope` option: what an unlearning run updates, written as a short string on the command
// line (all | pattern:REGEX | lora[:r[,alpha]] | saliency[:wagle|gradient[:keep]]) or as a
// mapping in a config file ({kind: lora, r: 8, alpha: 32}). Resolved with every default.

import { z } from 'zod';
import { LORA_DEFAULTS } from '../models/lora.ts';
import type { ScopeOptions } from '../unlearn/scope.ts';

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

const FORMS = 'expected all, pattern:REGEX, lora[:r[,alpha]] or saliency[:wagle|gradient[:keep]]';

/** Parses the string form into the object form; a message when it is none of the forms. */
function parseScopeString(text: string): ScopeInput | string {
  const [kind, ...parts] = text.split(':');
  const rest = parts.join(':');
  const bad = `${FORMS}, got ${JSON.stringify(text)}`;
  if (kind === 'all' && parts.length === 0) return { kind };
  if (kind === 'pattern' && rest !== '') return { kind, pattern: rest };
  if (kind === 'lora') {
    if (parts.length === 0) return { kind };
    const nums = rest.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
    if (nums.length > 2 || nums.some((x) => !Number.isFinite(x) || x <= 0) || !Number.isInteger(nums[0])) return `${bad} (lora:r,alpha: r a positive integer, alpha > 0)`;
    return { kind, r: nums[0], ...(nums.length === 2 ? { alpha: nums[1] } : {}) };
  }
  if (kind === 'saliency') {
    if (parts.length === 0) return { kind };
    const [score, keep] = parts;
    if (parts.length > 2 || (score !== 'wagle' && score !== 'gradient')) return `${bad} (saliency score: wagle or gradient)`;
    if (keep === undefined) return { kind, score };
    const k = Number(keep);
    if (keep.trim() === '' || !(k > 0 && k <= 1)) return `${bad} (the kept fraction must be in (0, 1])`;
    return { kind, score, keep: k };
  }
  return bad;
}

export const scopeSchema = z.preprocess((v, ctx) => {
  if (typeof v !== 'string') return v;
  const parsed = parseScopeString(v.trim());
  if (typeof parsed === 'string') {
    ctx.issues.push({ code: 'custom', message: parsed, input: v });
    return { kind: 'all' };
  }
  return parsed;
}, scopeObjectSchema);

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

/** The short form for summaries: "lora:8,32", "saliency:wagle:0.05". */
export function scopeLabel(scope: ScopeOptions): string {
  switch (scope.kind) {
    case 'all':
      return 'all';
    case 'pattern':
      return `pattern:${scope.pattern}`;
    case 'lora':
      return `lora:${scope.r},${scope.alpha}`;
    case 'saliency':
      return `saliency:${scope.score}:${scope.keep}`;
  }
}
