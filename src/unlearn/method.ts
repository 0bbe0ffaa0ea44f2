// What an unlearning method is: its forget objective L_f, its recipe (default options with
// their schema, default learning rate, default scope), and the frozen-reference quantities it
// needs precomputed, all in its own file. The run minimises L = γ·L_f(D_f) + α·L_r(D_r).

import { z } from 'zod';
import type { Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import type { Model } from '../models/model.ts';
import type { Scored } from './objective.ts';
import { RETAIN_KINDS, retainLoss, type RetainKind, type RetainOptions } from './retain.ts';
import type { ScopeOptions } from './scope.ts';

/** Quantities computed once, before training, from θ_ref (never by a second model per step). */
export type Need =
  | 'refForgetSeqLogp' // [B] sequence log-prob of the forget answer under θ_ref (NPO, IdkDPO)
  | 'idk' // the forget prompts with a refusal as the answer (IdkDPO)
  | 'refIdkSeqLogp' // [B] sequence log-prob of the refusal under θ_ref (IdkDPO)
  | 'refForgetTokenLogprobs' // [B, T, V] θ_ref's log-probs over the vocabulary at each forget position (UNDIAL)
  | 'hidden' // the model's hidden state after block ℓ (RMU; ℓ from `hiddenLayer`)
  | 'refRetainHidden' // [B, T, C] θ_ref's hidden state on the retain batch (RMU)
  | 'direction'; // [C] a fixed random unit direction, drawn once per run (RMU)

export interface MethodInputs {
  forget: Scored;
  retain?: Scored;
  idk?: Scored;
  /** θ_ref's sequence log-prob of each forget answer (summed over target tokens). [B] */
  refForgetSeqLogp?: Tensor;
  /** θ_ref's sequence log-prob of each refusal. [B] */
  refIdkSeqLogp?: Tensor;
  /** θ_ref's token distribution (log-probs over the vocabulary) at each forget position. [B, T, V] */
  refForgetTokenLogprobs?: Tensor;
  refRetainHidden?: Tensor;
  /** θ_ref's token distribution (log-probs) on the retain batch, for the KL retain term. [B, T, V] */
  refRetainTokenLogprobs?: Tensor;
  /** A fixed random direction u, normalised (RMU). [C] */
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

/** The schema fields of the options every method has (γ, α, the retain term); a method's schema spreads them. */
export const commonOptionFields = {
  gamma: z.number(),
  alpha: z.number().min(0),
  retain: z.enum(RETAIN_KINDS),
  klPositions: z.enum(['target', 'all']).optional(),
};

/**
 * An unlearning method: everything about it in one record, defined in its own file and
 * registered with one line (src/unlearn/methods/index.ts, or `registerMethod` from outside).
 */
export interface UnlearnMethod<O extends object = object> {
  /** The name users give (`--method`, `unlearn({ method })`), lower case. */
  name: string;
  /** One line for help texts and the README. */
  summary: string;
  defaults: O & CommonOptions;
  /** Every option (own and common), checked once against overrides; use `z.strictObject({ ...commonOptionFields, … })`. */
  schema: z.ZodType<O & CommonOptions>;
  /** The learning rate of the method's published recipe for full fine-tuning (LoRA runs use LORA_LR). */
  lr: number;
  needs: readonly Need[];
  /**
   * The loss reads only log p(label) of the model's outputs (through objective.ts's tokenLogprobs,
   * sequenceLogp, batchCe), or hidden states: the output head is then taken slice by slice and no
   * [B, T, V] logits are kept (nn/head.ts), which the memory estimate counts. Default false.
   */
  labelLogprobsOnly?: boolean;
  /** Options made concrete for the model at hand (e.g. "the middle block"), before the run uses them. */
  resolve?(opts: O & CommonOptions, model: Model): O & CommonOptions;
  /** The block ℓ whose hidden state the method reads (with the 'hidden' need). */
  hiddenLayer?(opts: O & CommonOptions): number;
  /** What the run updates when the user names no scope; default all parameters. */
  scope?(opts: O & CommonOptions, model: Model): ScopeOptions;
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
        ? retainLoss(inputs.retain, { kind: opts.retain, klPositions: opts.klPositions }, inputs.refRetainTokenLogprobs)
        : null;
  }
  const weighted = o.mul(forgetLoss, opts.gamma);
  return { loss: retain ? o.add(weighted, o.mul(retain, opts.alpha)) : weighted, forgetLoss, retainLoss: retain };
}
