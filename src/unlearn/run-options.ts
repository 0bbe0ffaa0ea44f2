// The options every training run takes (fine-tuning and unlearning alike): learning rate and
// schedule, optimiser, batches, checkpoints, probes; and how they become the engine's optimiser
// options and the loop's options.

import { checkOptimizer, type OptimizerOptions } from '../engine/train-step.ts';
import type { PromptTemplate } from '../data/templates.ts';
import type { Model } from '../models/model.ts';
import type { Evaluation, LoopOptions, LoopResult, Progress } from './loop.ts';
import type { ScheduleKind } from './schedule.ts';

/** The optimiser and its settings (the learning rate is RunOptions.lr). */
export interface OptimizerChoice {
  kind: 'adamw' | 'sophia' | 'sgd';
  weightDecay?: number;
  /** Global gradient-norm clipping threshold (default 1; null: no clipping). */
  maxGradNorm?: number | null;
  betas?: [number, number];
  /** Sophia's ρ. */
  rho?: number;
  /** SGD's momentum (default 0, as torch.optim.SGD). */
  momentum?: number;
  /** SGD's Nesterov momentum (torch.optim.SGD's nesterov=True; needs momentum > 0). */
  nesterov?: boolean;
  /** How the state slots are kept between steps: float32 (default) or bfloat16 (OptimizerOptions.stateDtype). */
  stateDtype?: 'float32' | 'bfloat16';
}

export interface RunOptions {
  template: Pick<PromptTemplate, 'promptSpecialTokens' | 'appendEos'>;
  /** Peak learning rate (after warm-up). */
  lr: number;
  /** Default AdamW with its defaults. */
  optimizer?: OptimizerChoice;
  schedule?: ScheduleKind;
  /** Linear warm-up steps (REFERENCE.md: one epoch for TOFU's recipes). Default 0. */
  warmupSteps?: number;
  /** Passes over the forget set (training set for finetune). Default 1. */
  epochs?: number;
  batchSize: number;
  /** Micro-batches per optimiser step. Default 1. */
  accumulation?: number;
  seed?: number;
  /** The run folder: log.jsonl and checkpoints/ are written here. */
  runDir: string;
  resume?: boolean;
  checkpointEvery?: number;
  evalEvery?: number;
  /** Small probes scored every evalEvery steps; the best step's weights are kept in checkpoints/best. */
  evaluate?: (model: Model, step: number) => Promise<Evaluation>;
  /** Sharpness-aware minimisation: the update uses the gradient at θ + ρ·g/‖g‖. */
  sam?: { rho: number };
  contextLength?: number;
  /**
   * Recompute each block's activations in the backward pass instead of keeping them (HF's
   * gradient_checkpointing): a step costs about one more forward pass and holds one block's
   * activations at a time instead of all of them. Results are unchanged. Default false.
   */
  gradientCheckpointing?: boolean;
  onProgress?: (p: Progress) => void;
}

export interface RunResult {
  model: Model;
  loop: LoopResult;
  /** Everything resolved: method options with defaults, scope, trainable parameter count. */
  resolved: Record<string, unknown>;
}

/**
 * The engine's optimiser options for a choice (clipping at 1 unless said otherwise; weight
 * decay by default AdamW's and Sophia's 0.01, SGD's 0). Throws LetheError for settings the
 * optimiser cannot take (Nesterov without momentum, a negative decay).
 */
export function toOptimizer(c: OptimizerChoice = { kind: 'adamw' }, batchSize: number): OptimizerOptions {
  const common = { weightDecay: c.weightDecay, maxGradNorm: c.maxGradNorm === undefined ? 1.0 : c.maxGradNorm, ...(c.stateDtype ? { stateDtype: c.stateDtype } : {}) };
  const opt: OptimizerOptions =
    c.kind === 'sophia' ? { kind: 'sophia', ...common, betas: c.betas, rho: c.rho, batchSize }
    : c.kind === 'sgd' ? { kind: 'sgd', ...common, momentum: c.momentum, nesterov: c.nesterov }
    : { kind: 'adamw', ...common, betas: c.betas };
  checkOptimizer(opt);
  return opt;
}

/** The loop's options for a run of `steps` optimiser steps. */
export function loopOptions(opts: Omit<RunOptions, 'template'>, steps: number): LoopOptions {
  return {
    schedule: { kind: opts.schedule ?? 'constant', lr: opts.lr, warmupSteps: opts.warmupSteps ?? 0, totalSteps: steps },
    runDir: opts.runDir,
    checkpointEvery: opts.checkpointEvery ?? 0,
    evalEvery: opts.evaluate ? (opts.evalEvery ?? 0) : 0,
    resume: opts.resume ?? false,
  };
}
