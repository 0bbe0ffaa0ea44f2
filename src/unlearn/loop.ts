// The training loop shared by `lethe train` and `lethe unlearn`: steps with a schedule,
// gradient accumulation, evaluation on small probes every N steps with best-checkpoint
// selection, checkpoints and exact resume, and a stop that keeps the last good state when the
// loss or gradients turn NaN/Inf or explode. It prints nothing: progress goes to `onProgress`
// and to `log.jsonl` in the run directory.

import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HostTensor } from '../engine/dtype.ts';
import type { TrainStep } from '../engine/train-step.ts';
import type { Feeds } from '../engine/program.ts';
import { latestCheckpoint, loadCheckpoint, pruneCheckpoints, saveCheckpoint, saveStepCheckpoint } from './checkpoint.ts';
import { lrAt, type Schedule } from './schedule.ts';

export interface LoopOptions {
  schedule: Schedule;
  runDir: string;
  /** Save a resumable checkpoint every N steps (0: only at the end). */
  checkpointEvery: number;
  /** Step checkpoints to keep (the best is kept apart). */
  keepCheckpoints?: number;
  /** Evaluate every N steps (0: never). */
  evalEvery: number;
  /** Continue from the newest checkpoint in the run directory when there is one. */
  resume: boolean;
  /** A gradient norm above this counts as an explosion and stops the run (default 1e4); not the clipping threshold, which is the optimiser's maxGradNorm. */
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
  reason?: string;
  resumedFrom: number | null;
  bestStep: number | null;
  bestScore: number | null;
  wallSeconds: number;
  tokens: number;
}

const finite = (x: number) => Number.isFinite(x);

function snapshot(step: TrainStep): Map<string, HostTensor> {
  return new Map(step.names.map((n) => [n, step.get(n)]));
}

export async function runLoop(step: TrainStep, opts: LoopOptions, hooks: LoopHooks): Promise<LoopResult> {
  const ckptDir = join(opts.runDir, 'checkpoints');
  const logPath = join(opts.runDir, 'log.jsonl');
  await mkdir(opts.runDir, { recursive: true });
  const total = opts.schedule.totalSteps;
  let bestScore: number | null = null;
  let bestStep: number | null = null;
  let resumedFrom: number | null = null;
  let lastGood = 0;

  const latest = opts.resume ? await latestCheckpoint(ckptDir) : null;
  if (latest) {
    const { tensors, meta } = await loadCheckpoint(latest);
    step.load(tensors, meta.step);
    ({ bestScore, bestStep } = meta);
    resumedFrom = lastGood = meta.step;
    // Drop log lines of steps after the checkpoint: the resumed run writes them again.
    if (existsSync(logPath)) {
      const kept = (await readFile(logPath, 'utf8')).split('\n').filter((l) => l && (JSON.parse(l) as { step: number }).step <= meta.step);
      await writeFile(logPath, kept.map((l) => l + '\n').join(''));
    }
  } else {
    step.load(new Map(), 0);
    await writeFile(logPath, '');
  }

  const checkpoint = async () => {
    await saveStepCheckpoint(ckptDir, snapshot(step), { step: step.step, bestScore, bestStep });
    await pruneCheckpoints(ckptDir, opts.keepCheckpoints ?? 2);
    lastGood = step.step;
  };
  if (!latest) await checkpoint(); // step 0: the state a divergence falls back to at worst

  const t0 = performance.now();
  let tokens = 0;
  const divergenceGradNorm = opts.divergenceGradNorm ?? 1e4;
  for (let s = step.step; s < total; s++) {
    const lr = lrAt(opts.schedule, s);
    const ts = performance.now();
    const values = await step.run(hooks.batchesFor(s), lr);
    const seconds = (performance.now() - ts) / 1000;
    const stepTokens = hooks.tokensFor?.(s) ?? 0;
    tokens += stepTokens;
    const { loss, gradNorm } = values;
    if (!finite(loss) || !finite(gradNorm) || gradNorm > divergenceGradNorm) {
      const reason = !finite(loss) ? `loss became ${loss}` : !finite(gradNorm) ? `gradient norm became ${gradNorm}` : `gradient norm ${gradNorm.toExponential(2)} exceeded ${divergenceGradNorm}`;
      await appendFile(logPath, JSON.stringify({ step: s + 1, diverged: reason }) + '\n');
      const good = await latestCheckpoint(ckptDir);
      if (good) step.load((await loadCheckpoint(good)).tensors, lastGood);
      return { steps: lastGood, stopped: 'diverged', reason: `${reason} at step ${s + 1}; kept the last good checkpoint (step ${lastGood})`, resumedFrom, bestStep, bestScore, wallSeconds: (performance.now() - t0) / 1000, tokens };
    }
    const line: Record<string, unknown> = { step: s + 1, lr, ...values, tokensPerSecond: stepTokens / seconds };
    let evaluation: Evaluation | undefined;
    if (hooks.evaluate && opts.evalEvery > 0 && ((s + 1) % opts.evalEvery === 0 || s + 1 === total)) {
      evaluation = await hooks.evaluate(s + 1);
      line.eval = { score: evaluation.score, ...evaluation.metrics };
      if (bestScore === null || evaluation.score > bestScore) {
        bestScore = evaluation.score;
        bestStep = s + 1;
        await saveCheckpoint(ckptDir, 'best', snapshot(step), { step: s + 1, bestScore, bestStep });
      }
    }
    await appendFile(logPath, JSON.stringify(line) + '\n');
    if (opts.checkpointEvery > 0 && (s + 1) % opts.checkpointEvery === 0 && s + 1 < total) await checkpoint();
    const elapsed = (performance.now() - t0) / 1000;
    const done = s + 1 - (resumedFrom ?? 0);
    hooks.onProgress?.({
      step: s + 1, steps: total, loss, lr, gradNorm,
      tokensPerSecond: stepTokens / seconds,
      etaSeconds: (elapsed / done) * (total - s - 1),
      values, eval: evaluation,
    });
  }
  await checkpoint();
  return { steps: total, stopped: 'done', resumedFrom, bestStep, bestScore, wallSeconds: (performance.now() - t0) / 1000, tokens };
}
