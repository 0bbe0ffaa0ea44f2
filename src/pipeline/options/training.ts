// The training options `lethe train` and `lethe unlearn` share (optimiser, schedule, batches,
// checkpoints): their schema fields, their defaults, and how a resolved set becomes the
// library's RunOptions.

import { z } from 'zod';
import { ADAMW_DEFAULTS, SOPHIA_DEFAULTS, optimizerDefaults } from '../../engine/train-step.ts';
import type { OptimizerChoice, RunOptions } from '../../unlearn/run-options.ts';
import { flag, int, nonNegative, nonNegativeInt, path, positive, positiveInt } from './fields.ts';

const beta = () => z.number().min(0, 'expected a number in [0, 1)').lt(1, 'expected a number in [0, 1)');

export const SCHEDULES = ['constant', 'linear', 'cosine'] as const;
export const OPTIMIZERS = ['adamw', 'sophia', 'sgd'] as const;

/** Schema fields common to train and unlearn (all optional: defaults are applied by the resolve functions). */
export const trainingFields = {
  out: path(),
  epochs: positiveInt().optional(),
  batchSize: positiveInt().optional(),
  /** Micro-batches per optimiser step. */
  accumulation: positiveInt().optional(),
  lr: positive().optional(),
  schedule: z.enum(SCHEDULES).optional(),
  /** Warm-up in optimiser steps; overrides warmupEpochs. */
  warmupSteps: nonNegativeInt().optional(),
  /** Warm-up in epochs (REFERENCE.md: one epoch in TOFU's recipes). */
  warmupEpochs: nonNegative().optional(),
  weightDecay: nonNegative().optional(),
  /** Global gradient-norm clipping; 0 turns it off. */
  maxGradNorm: nonNegative().optional(),
  optimizer: z.enum(OPTIMIZERS).optional(),
  /** AdamW's or Sophia's (β1, β2), each in [0, 1) (β = 1 zeroes Adam's bias correction 1 − βᵗ); a flag gives them as "0.9,0.95". */
  betas: z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => (x.trim() === '' ? NaN : Number(x))) : v), z.tuple([beta(), beta()], { error: 'expected two numbers β1,β2 in [0, 1), e.g. 0.9,0.999' })).optional(),
  /** Sophia's ρ. */
  rho: positive().optional(),
  /** SGD's momentum. */
  momentum: nonNegative().optional(),
  /** SGD's Nesterov momentum (torch.optim.SGD's nesterov; needs momentum > 0). */
  nesterov: flag().optional(),
  seed: int().optional(),
  checkpointEvery: nonNegativeInt().optional(),
  contextLength: positiveInt().optional(),
  template: z.enum(['auto', 'plain', 'chat']).optional(),
  resume: flag().optional(),
  overwrite: flag().optional(),
  /** Recompute each block's activations in the backward pass instead of keeping them (less memory, ~1/3 more compute). */
  gradientCheckpointing: flag().optional(),
  /** How the optimiser state is stored: f32 (default) or bf16 (half the bytes, rounded stochastically; engine/optimizers.ts). */
  optimizerState: z.enum(['f32', 'bf16']).optional(),
  /** Memory (GiB, 2^30 bytes) the run may use, instead of what the machine reports available; the run is refused when its estimate exceeds it. Not part of the run's record. */
  maxMemory: positive().optional(),
};

type TrainingUser = { [K in keyof typeof trainingFields]?: z.infer<(typeof trainingFields)[K]> };

export interface ResolvedTraining {
  out: string;
  epochs: number;
  batchSize: number;
  accumulation: number;
  lr: number;
  schedule: (typeof SCHEDULES)[number];
  warmupSteps?: number;
  warmupEpochs?: number;
  weightDecay: number;
  maxGradNorm: number;
  optimizer: (typeof OPTIMIZERS)[number];
  betas?: [number, number];
  rho?: number;
  momentum?: number;
  nesterov?: boolean;
  seed: number;
  checkpointEvery: number;
  contextLength?: number;
  template: 'auto' | 'plain' | 'chat';
  resume: boolean;
  overwrite: boolean;
  /** Present (true) only when asked, so runs saved before the option resume as they were. */
  gradientCheckpointing?: true;
  /** Present only when bf16, for the same reason. */
  optimizerState?: 'bf16';
}

/** Applies the shared defaults; `recipe` gives the command's own (lr, epochs, batch sizes). */
export function resolveTraining(user: TrainingUser, recipe: { lr: number; epochs: number; batchSize: number; accumulation: number; schedule: ResolvedTraining['schedule'] }): ResolvedTraining {
  const optimizer = user.optimizer ?? 'adamw';
  const defaults = optimizer === 'sophia' ? SOPHIA_DEFAULTS : ADAMW_DEFAULTS;
  return {
    out: user.out!,
    epochs: user.epochs ?? recipe.epochs,
    batchSize: user.batchSize ?? recipe.batchSize,
    accumulation: user.accumulation ?? recipe.accumulation,
    lr: user.lr ?? recipe.lr,
    schedule: user.schedule ?? recipe.schedule,
    ...(user.warmupSteps !== undefined ? { warmupSteps: user.warmupSteps } : { warmupEpochs: user.warmupEpochs ?? 1 }),
    // Each optimiser's own default decay: AdamW's and Sophia's 0.01 (decoupled), SGD's 0 as in torch.
    weightDecay: user.weightDecay ?? optimizerDefaults(optimizer).weightDecay,
    maxGradNorm: user.maxGradNorm ?? 1,
    optimizer,
    ...(optimizer === 'sgd' ? { momentum: user.momentum ?? 0, nesterov: user.nesterov ?? false } : { betas: user.betas ?? defaults.betas }),
    ...(optimizer === 'sophia' ? { rho: user.rho ?? SOPHIA_DEFAULTS.rho } : {}),
    seed: user.seed ?? 0,
    checkpointEvery: user.checkpointEvery ?? 0,
    ...(user.contextLength !== undefined ? { contextLength: user.contextLength } : {}),
    template: user.template ?? 'auto',
    resume: user.resume ?? false,
    overwrite: user.overwrite ?? false,
    ...(user.gradientCheckpointing ? { gradientCheckpointing: true as const } : {}),
    // SGD without momentum keeps no state: bf16 would change nothing, so it is not recorded (optimizerStateNotice says so).
    ...(user.optimizerState === 'bf16' && keepsState(optimizer, user.momentum) ? { optimizerState: 'bf16' as const } : {}),
  };
}

/** The line a command prints when --optimizer-state bf16 was asked for a run that keeps no optimiser state, else null. */
export function optimizerStateNotice(user: { optimizerState?: 'f32' | 'bf16' }, r: ResolvedTraining): string | null {
  return user.optimizerState === 'bf16' && r.optimizerState === undefined ? '--optimizer-state bf16: SGD without momentum keeps no optimiser state, so there is nothing to store in bfloat16; the run is as without it' : null;
}

export function optimizerChoice(r: ResolvedTraining): OptimizerChoice {
  return {
    kind: r.optimizer, weightDecay: r.weightDecay, maxGradNorm: r.maxGradNorm > 0 ? r.maxGradNorm : null, betas: r.betas, rho: r.rho, momentum: r.momentum,
    ...(r.nesterov ? { nesterov: true } : {}), ...(r.optimizerState === 'bf16' ? { stateDtype: 'bfloat16' as const } : {}),
  };
}

/** Whether the run keeps optimiser state in float32 (so --optimizer-state bf16 would save memory). */
export const keepsFloat32State = (r: ResolvedTraining): boolean => r.optimizerState !== 'bf16' && keepsState(r.optimizer, r.momentum);

/** Whether an optimiser keeps state between steps: all but SGD without momentum (engine/optimizers.ts, slotNames). */
const keepsState = (optimizer: ResolvedTraining['optimizer'], momentum: number | undefined): boolean => optimizer !== 'sgd' || (momentum ?? 0) > 0;

/** Steps of one epoch of `items` (for warm-up in epochs). */
export const stepsPerEpoch = (items: number, r: ResolvedTraining) => Math.ceil(Math.ceil(items / r.batchSize) / r.accumulation);

/** The library's run options (everything but the data and the run folder). */
export function runOptions(r: ResolvedTraining, items: number): Omit<RunOptions, 'template' | 'runDir'> {
  return {
    lr: r.lr,
    optimizer: optimizerChoice(r),
    schedule: r.schedule,
    warmupSteps: r.warmupSteps ?? Math.round((r.warmupEpochs ?? 0) * stepsPerEpoch(items, r)),
    epochs: r.epochs,
    batchSize: r.batchSize,
    accumulation: r.accumulation,
    seed: r.seed,
    resume: r.resume,
    checkpointEvery: r.checkpointEvery,
    contextLength: r.contextLength,
    ...(r.gradientCheckpointing ? { gradientCheckpointing: true } : {}),
  };
}

