// The `--scope` option: what an unlearning run updates, written as a short string on the command
// line (all | pattern:REGEX | lora[:r[,alpha[,dropout]]] | saliency[:wagle|gradient[:keep]]) or as a
// mapping in a config file ({kind: lora, r: 8, alpha: 32}). Resolved with every default.

import { z } from 'zod';
import { scopeObjectSchema, type ScopeInput } from '../../unlearn/scope.ts';

export { resolveScope, scopeLabel, scopeObjectSchema, type ScopeInput } from '../../unlearn/scope.ts';

const FORMS = 'expected all, pattern:REGEX, lora[:r[,alpha[,dropout]]] or saliency[:wagle|gradient[:keep]]';

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
    const [r, alpha, dropout] = nums;
    if (nums.length > 3 || !Number.isInteger(r) || r <= 0 || (alpha !== undefined && !(alpha > 0)) || (dropout !== undefined && !(dropout >= 0 && dropout < 1))) {
      return `${bad} (lora:r,alpha,dropout: r a positive integer, alpha > 0, dropout in [0, 1))`;
    }
    return { kind, r, ...(alpha !== undefined ? { alpha } : {}), ...(dropout !== undefined ? { dropout } : {}) };
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

