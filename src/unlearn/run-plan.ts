// What an unlearning run will do, decided once from the method, its options and the model:
// the method (resolved from its name once), its checked and model-resolved options, what it
// needs precomputed, which block's hidden state it reads, what it updates.

import { LetheError } from '../engine/errors.ts';
import type { Model } from '../models/model.ts';
import type { AdversarialOptions } from './adversarial.ts';
import type { CommonOptions, Need } from './method.ts';
import { getMethod, methodOptions, type AnyMethod } from './methods/index.ts';
import { scopeObjectSchema, type ScopeOptions } from './scope.ts';

export interface RunPlan {
  method: AnyMethod;
  /** Every option of the method: defaults, overrides, resolved against the model. */
  options: CommonOptions & Record<string, unknown>;
  needs: ReadonlySet<Need>;
  /** The block whose hidden state the method reads ('hidden' need), else undefined. */
  hiddenLayer?: number;
  scope: ScopeOptions;
  /** The objective has a retain term (α ≠ 0 and a retain kind or the method's own). */
  needsRetain: boolean;
  /** The retain term is KL against the reference's token distribution. */
  wantKl: boolean;
  adversarial?: AdversarialOptions;
}

export interface PlanInput {
  /** A registered method's name or a method record (which need not be registered). */
  method: string | AnyMethod;
  /** Overrides of the method's defaults, checked against its schema. */
  methodOptions?: Record<string, unknown>;
  /** Default: the method's own default scope, else all parameters. */
  scope?: ScopeOptions;
  adversarial?: AdversarialOptions;
}

export function planRun(input: Model, opts: PlanInput): RunPlan {
  const method = typeof opts.method === 'string' ? getMethod(opts.method) : opts.method;
  const checked = methodOptions(method, opts.methodOptions);
  const options = (method.resolve ? method.resolve(checked, input) : checked) as RunPlan['options'];
  const needs = new Set<Need>(method.needs);
  const hiddenLayer = needs.has('hidden') || needs.has('refRetainHidden') ? method.hiddenLayer?.(options) : undefined;
  if (opts.scope !== undefined) {
    // Library callers pass scopes as plain objects: an unknown kind must not train everything.
    const checked = scopeObjectSchema.safeParse(opts.scope);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new LetheError(`scope ${JSON.stringify(opts.scope)}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message} (kinds: all, pattern, lora, saliency)`);
    }
  }
  const scope: ScopeOptions = opts.scope ?? method.scope?.(options, input) ?? { kind: 'all' };
  const needsRetain = options.alpha !== 0 && (options.retain !== 'none' || method.retainLoss !== undefined);
  const adv = opts.adversarial;
  if (adv && !(Number.isInteger(adv.layer) && adv.layer >= 0 && adv.layer < input.config.numLayers && adv.eps > 0 && Number.isInteger(adv.steps) && adv.steps >= 1)) {
    throw new LetheError(`--adversarial layer,eps,steps: layer must be 0..${input.config.numLayers - 1}, eps > 0, steps ≥ 1; got ${JSON.stringify(adv)}`);
  }
  return { method, options, needs, hiddenLayer, scope, needsRetain, wantKl: needsRetain && options.retain === 'kl', adversarial: adv };
}
