// What an unlearning method is: its forget objective L_f, its defaults (once, here in its own
// file), and the frozen-reference quantities it needs precomputed. The run minimises
// L = γ·L_f(D_f) + α·L_r(D_r).

import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import type { Scored } from './objective.ts';
import { retainLoss, type RetainKind, type RetainOptions } from './retain.ts';

/** Quantities computed once, before training, from θ_ref (never by a second model per step). */
export type Need =
  | 'refForgetLogp' // [B] sequence log-prob of the forget answer under θ_ref (NPO, IdkDPO)
  | 'idk' // the forget prompts with a refusal as the answer (IdkDPO)
  | 'refIdkLogp' // [B] sequence log-prob of the refusal under θ_ref (IdkDPO)
  | 'refForgetLogprobs' // [B, T, V] θ_ref's log-probs on the forget batch (UNDIAL)
  | 'hidden' // the model's hidden state after block ℓ (RMU)
  | 'refRetainHidden'; // [B, T, C] θ_ref's hidden state on the retain batch (RMU)

export interface MethodInputs {
  forget: Scored;
  retain?: Scored;
  idk?: Scored;
  refForgetLogp?: Tensor;
  refIdkLogp?: Tensor;
  refForgetLogprobs?: Tensor;
  refRetainHidden?: Tensor;
  /** θ_ref's log-probs on the retain batch, for the KL retain term. [B, T, V] */
  refRetainLogprobs?: Tensor;
  /** RMU's fixed random direction u, normalised. [C] */
  direction?: Tensor;
}

export interface CommonOptions {
  /** γ: weight of the forget term. */
  gamma: number;
  /** α: weight of the retain term. */
  alpha: number;
  /** L_r: nll, kl or none. */
  retain: RetainKind;
  klPositions?: RetainOptions['klPositions'];
}

export interface UnlearnMethod<O extends object = object> {
  name: string;
  /** One line for help texts and the README. */
  summary: string;
  defaults: O & CommonOptions;
  needs: readonly Need[];
  forgetLoss(inputs: MethodInputs, opts: O & CommonOptions): Tensor;
  /** A method's own retain term replacing the standard one (RMU matches activations). */
  retainLoss?(inputs: MethodInputs, opts: O & CommonOptions): Tensor | null;
}

export interface Objective {
  loss: Tensor;
  forgetLoss: Tensor;
  retainLoss: Tensor | null;
}

export function requireInput<T>(value: T | undefined, method: string, what: string): T {
  if (value === undefined) throw new Error(`${method} needs ${what}`);
  return value;
}

/** L = γ·L_f + α·L_r for a method and its options. */
export function objective<O extends object>(method: UnlearnMethod<O>, inputs: MethodInputs, opts: O & CommonOptions): Objective {
  const forgetLoss = method.forgetLoss(inputs, opts);
  let retain: Tensor | null = null;
  if (opts.alpha !== 0) {
    retain = method.retainLoss
      ? method.retainLoss(inputs, opts)
      : inputs.retain
        ? retainLoss(inputs.retain, { kind: opts.retain, klPositions: opts.klPositions }, inputs.refRetainLogprobs)
        : null;
  }
  const weighted = o.mul(forgetLoss, opts.gamma);
  return { loss: retain ? o.add(weighted, o.mul(retain, opts.alpha)) : weighted, forgetLoss, retainLoss: retain };
}
