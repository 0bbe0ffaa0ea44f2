// The training loop shared by `lethe train` and `lethe unlearn`: steps with a schedule,
// gradient accumulation, evaluation on small probes every N steps with best-checkpoint
// selection, checkpoints and exact resume, and a stop that keeps the last good state when the
// loss or gradients turn NaN/Inf or explode. It prints nothing: progress goes to `onProgress`
// and to `log.jsonl` in the run directory, and what the caller should say to `notices`.
//
// Divergence rule: the loss of step s+1 is computed on the weights of step s, so a checkpoint
// is good only once a later step (or, for the final weights, a check pass: the loss alone, no
// update) has shown a finite loss on it. A diverged run falls back to the newest such checkpoint
// and says which step's weights it kept and why.

import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HostTensor } from '../engine/dtype.ts';
import type { TrainStep } from '../engine/train-step.ts';
import type { Feeds } from '../engine/program.ts';
import { LetheError } from '../engine/errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { latestIntactCheckpoint, pruneCheckpoints, saveCheckpoint, saveStepCheckpoint } from './checkpoint.ts';
import { lrAt, type Schedule } from './schedule.ts';

export interface LoopOptions {
  schedule: Schedule;
  runDir: string;
  /** Save a resumable checkpoint every N steps (0: only at the end). */
  checkpointEvery: number;
  /** Step checkpoints to keep (at least 2, so one a later step verified survives; the best is kept apart). */
  keepCheckpoints?: number;
  /** Evaluate every N steps (0: never). */
  evalEvery: number;
  /** Continue from the newest checkpoint in the run directory when there is one. */
  resume: boolean;
  /** A gradient norm above this counts as an explosion (default 1e4). */
  divergenceGradNorm?: number;
}

export interface Evaluation {
  /** Higher is better; the best-scoring step's weights are kept in `checkpoints/best`. */
  score: number;
  metrics: Record<string, number>;
}

export interface LoopHooks {
  /** The micro-batches of 0-based step `step`: a pure function of the step, so a resumed run sees the same data. */
  batchesFor(step: number): Feeds[];
  /** Tokens in a step (for tokens/s). */
  tokensFor?(step: number): number;
  evaluate?(step: number): Promise<Evaluation>;
  onProgress?(p: Progress): void;
}

export interface Progress {
  step: number; // steps done
  steps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSecond: number;
  etaSeconds: number;
  values: Record<string, number>;
  eval?: Evaluation;
}

export interface LoopResult {
  steps: number;
  stopped: 'done' | 'diverged';
  /** Why the run stopped early, and which step's weights it kept. */
  reason?: string;
  /** The step whose weights the run ends with (after a divergence: the last good checkpoint's). */
  keptStep: number;
  /** Things the caller should tell the user (a damaged checkpoint skipped on resume, torn log lines dropped). */
  notices: string[];
  resumedFrom: number | null;
  bestStep: number | null;
  bestScore: number | null;
  wallSeconds: number;
  tokens: number;
}

const finite = (x: number) => Number.isFinite(x);

/** The step's parameters and state by name: live views (checkpoint writers read them at once). */
function snapshot(step: TrainStep): Map<string, HostTensor> {
  return new Map(step.names.map((n) => [n, step.get(n)]));
}

/** Appends one line; a failed append (disk full, …) is one LetheError naming the file. */
export async function appendLogLine(path: string, value: unknown): Promise<void> {
  try {
    await appendFile(path, JSON.stringify(value) + '\n');
  } catch (err) {
    throw new LetheError(`${path}: could not append to the run log (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * The lines of a log.jsonl up to `step`; lines that do not parse (cut by a kill or a full disk
 * during an append) are dropped and counted.
 */
export function logLinesUpTo(text: string, step: number): { kept: string[]; torn: number } {
  const kept: string[] = [];
  let torn = 0;
  for (const l of text.split('\n')) {
    if (l.trim() === '') continue;
    let line: unknown;
    try {
      line = JSON.parse(l);
    } catch {
      torn++;
      continue;
    }
    const s = (line as { step?: unknown } | null)?.step;
    if (typeof s === 'number' && s <= step) kept.push(l);
  }
  return { kept, torn };
}

/** What a run of the loop carries from step to step. */
interface LoopState {
  step: TrainStep;
  opts: LoopOptions;
  hooks: LoopHooks;
  ckptDir: string;
  logPath: string;
  expect: { names: readonly string[]; maxStep: number };
  notices: string[];
  bestScore: number | null;
  bestStep: number | null;
  resumedFrom: number | null;
  t0: number;
  tokens: number;
}

/**
 * Runs the steps of `opts.schedule` on `step` with `hooks`' data, evaluation and progress;
 * resumes from the newest intact checkpoint when `opts.resume`, stops at a divergence keeping the
 * last verified weights (see the divergence rule above).
 */
export async function runLoop(step: TrainStep, opts: LoopOptions, hooks: LoopHooks): Promise<LoopResult> {
  await mkdir(opts.runDir, { recursive: true });
  const total = opts.schedule.totalSteps;
  const state: LoopState = {
    step, opts, hooks,
    ckptDir: join(opts.runDir, 'checkpoints'),
    logPath: join(opts.runDir, 'log.jsonl'),
    expect: { names: step.names, maxStep: total },
    notices: [], bestScore: null, bestStep: null, resumedFrom: null, t0: 0, tokens: 0,
  };
  // Step 0 is the input weights with zero optimiser state, which the step can always restore
  // (TrainStep.reset): nothing is written for it (a full model's step-0 checkpoint with both AdamW
  // moments was 14 GB for a 1B model, issue 15).
  await resumeOrStart(state);

  state.t0 = performance.now();
  const divergenceGradNorm = opts.divergenceGradNorm ?? 1e4;
  for (let s = step.step; s < total; s++) {
    const lr = lrAt(opts.schedule, s);
    const ts = performance.now();
    const values = await step.run(hooks.batchesFor(s), lr);
    const seconds = (performance.now() - ts) / 1000;
    const stepTokens = hooks.tokensFor?.(s) ?? 0;
    state.tokens += stepTokens;
    const { loss, gradNorm } = values;
    if (!finite(loss) || !finite(gradNorm) || gradNorm > divergenceGradNorm) {
      const reason = !finite(loss) ? `loss became ${loss}` : !finite(gradNorm) ? `gradient norm became ${gradNorm}` : `gradient norm ${gradNorm.toExponential(2)} exceeded ${divergenceGradNorm}`;
      // A finite loss at step s+1 still vouches for the weights of step s.
      return diverge(state, reason, s + 1, finite(loss) ? s + 1 : s);
    }
    const line: Record<string, unknown> = { step: s + 1, lr, ...values, tokensPerSecond: stepTokens / seconds };
    const evaluation = await evaluateAndKeepBest(state, s + 1);
    if (evaluation) line.eval = { score: evaluation.score, ...evaluation.metrics };
    await appendLogLine(state.logPath, line);
    if (opts.checkpointEvery > 0 && (s + 1) % opts.checkpointEvery === 0 && s + 1 < total) await checkpoint(state);
    const elapsed = (performance.now() - state.t0) / 1000;
    const done = s + 1 - (state.resumedFrom ?? 0);
    hooks.onProgress?.({
      step: s + 1, steps: total, loss, lr, gradNorm,
      tokensPerSecond: stepTokens / seconds,
      etaSeconds: (elapsed / done) * (total - s - 1),
      values, eval: evaluation,
    });
  }
  return finish(state);
}

/** Loads the newest intact checkpoint and trims the log to it (resume), or starts at step 0 with an empty log; true when resumed. */
async function resumeOrStart(state: LoopState): Promise<boolean> {
  const { step, logPath, notices } = state;
  const latest = state.opts.resume ? await latestIntactCheckpoint(state.ckptDir, state.expect) : null;
  if (!latest) {
    step.load(new Map(), 0);
    await writeFileAtomic(logPath, '');
    return false;
  }
  const { tensors, meta } = latest;
  for (const k of latest.skipped) notices.push(`skipped a damaged checkpoint (${k.reason}); resumed from ${latest.path}`);
  step.load(tensors, meta.step);
  state.bestScore = meta.bestScore;
  state.bestStep = meta.bestStep;
  state.resumedFrom = meta.step;
  // Drop log lines of steps after the checkpoint (the resumed run writes them again) and torn ones.
  if (existsSync(logPath)) {
    const { kept, torn } = logLinesUpTo(await readFile(logPath, 'utf8'), meta.step);
    if (torn) notices.push(`${logPath}: dropped ${torn} cut line${torn > 1 ? 's' : ''} (a run killed or out of disk space while writing)`);
    await writeFileAtomic(logPath, kept.map((l) => l + '\n').join(''));
  }
  return true;
}

/** Saves a resumable step checkpoint and prunes the older ones. */
async function checkpoint(state: LoopState, tensors = snapshot(state.step), at = state.step.step): Promise<void> {
  await saveStepCheckpoint(state.ckptDir, tensors, { step: at, bestScore: state.bestScore, bestStep: state.bestStep });
  await pruneCheckpoints(state.ckptDir, Math.max(2, state.opts.keepCheckpoints ?? 2));
}

/** Evaluates after step `done` when it is an evaluation step; a new best score saves `checkpoints/best`. */
async function evaluateAndKeepBest(state: LoopState, done: number): Promise<Evaluation | undefined> {
  const { hooks, opts } = state;
  if (!hooks.evaluate || opts.evalEvery <= 0 || !(done % opts.evalEvery === 0 || done === opts.schedule.totalSteps)) return undefined;
  const evaluation = await hooks.evaluate(done);
  if (state.bestScore === null || evaluation.score > state.bestScore) {
    state.bestScore = evaluation.score;
    state.bestStep = done;
    await saveCheckpoint(state.ckptDir, 'best', snapshot(state.step), { step: done, bestScore: state.bestScore, bestStep: state.bestStep });
  }
  return evaluation;
}

/**
 * The end of a run: the final weights have no later step, so a check pass (the loss on the last
 * step's data, forward only: no gradients, no copy of the weights) must show a finite loss on
 * them before they count as good; they are then saved as the final checkpoint.
 */
async function finish(state: LoopState): Promise<LoopResult> {
  const { step } = state;
  const total = state.opts.schedule.totalSteps;
  if (total > 0) {
    const check = await step.evaluate(state.hooks.batchesFor(total - 1));
    if (!finite(check.loss)) return diverge(state, `loss became ${check.loss} on the final weights (check pass)`, total, total);
  }
  await checkpoint(state, snapshot(step), total);
  return { steps: total, keptStep: total, stopped: 'done', notices: state.notices, resumedFrom: state.resumedFrom, bestStep: state.bestStep, bestScore: state.bestScore, wallSeconds: (performance.now() - state.t0) / 1000, tokens: state.tokens };
}

/** Falls back to the newest checkpoint a finite loss was seen for (steps before `verifiedBefore`). */
async function diverge(state: LoopState, why: string, atStep: number, verifiedBefore: number): Promise<LoopResult> {
  const { step, ckptDir, expect } = state;
  await appendLogLine(state.logPath, { step: atStep, diverged: why });
  const good = await latestIntactCheckpoint(ckptDir, expect, verifiedBefore);
  let kept: string;
  let lastGood = 0;
  if (good && verifiedBefore > 0) {
    step.load(good.tensors, good.meta.step);
    lastGood = good.meta.step;
    kept = lastGood === 0 ? 'kept the input weights (step 0): no later checkpoint had a finite loss after it' : `kept the weights of step ${lastGood}, the last checkpoint a later step showed a finite loss for`;
  } else if (verifiedBefore > 0) {
    step.reset();
    kept = 'kept the input weights (step 0): no later checkpoint had a finite loss after it';
  } else {
    step.reset();
    kept = 'kept the input weights (step 0), although their own loss was not finite either';
  }
  return { steps: lastGood, keptStep: lastGood, stopped: 'diverged', reason: `${why} at step ${atStep}; ${kept}`, notices: state.notices, resumedFrom: state.resumedFrom, bestStep: state.bestStep, bestScore: state.bestScore, wallSeconds: (performance.now() - state.t0) / 1000, tokens: state.tokens };
}
