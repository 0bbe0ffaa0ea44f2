// A deterministic stand-in for lethe's trial (unlearn → evaluate → attack), for the sweep tests.
// It "trains" `loop.epochs` steps (default 4), sleeping `stepMs` per step and writing a
// checkpoint after each; with resume it continues from its last checkpoint. Its metrics are a
// function of the trial's config and seed only (never of timing, attempts or which process ran
// it), so a killed-and-resumed or a queued sweep must give exactly the in-process numbers.
// Every start and finish is appended to `logFile` (one JSON line), to count executions.

import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TrialContext, TrialOutcome, TrialRunner } from '../../../src/pipeline/sweep/index.ts';

export interface FakeLogLine {
  event: 'start' | 'finish';
  id: string;
  pid: number;
  resume: boolean;
  fromStep: number;
}

/** The "strength" of an unlearning setting: what a real method's lr × epochs × weight does. */
function strength(ctx: TrialContext): number {
  const o = ctx.trial.config.options;
  const lr = Number(ctx.trial.config.loop.lr ?? 1e-5);
  const knob = ctx.trial.config.method === 'npo' ? 0.5 / Number(o.beta) : Number(o.gamma);
  return knob * lr * 1e5;
}

/** A state after `step` steps: a pure function of the config, the seed and the step. */
function nextState(prev: number, step: number, ctx: TrialContext): number {
  return prev + strength(ctx) * (1 + 0.1 * Math.sin(ctx.trial.seed * 7 + step));
}

export function readLog(logFile: string): FakeLogLine[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as FakeLogLine);
}

export function fakeRunner(opts: { logFile: string; stepMs: number }): TrialRunner {
  return async (ctx: TrialContext): Promise<TrialOutcome> => {
    const steps = Number(ctx.trial.config.loop.epochs ?? 4);
    const ckpt = join(ctx.dir, 'checkpoints');
    mkdirSync(ckpt, { recursive: true });
    let step = 0;
    let state = 0;
    if (ctx.resume) {
      const saved = readdirSync(ckpt).filter((f) => /^step-\d+\.json$/.test(f)).map((f) => Number(f.slice(5, -5)));
      if (saved.length) {
        step = Math.max(...saved);
        state = (JSON.parse(readFileSync(join(ckpt, `step-${step}.json`), 'utf8')) as { state: number }).state;
      }
    }
    const log = (event: FakeLogLine['event']) => appendFileSync(opts.logFile, JSON.stringify({ event, id: ctx.trial.id, pid: process.pid, resume: ctx.resume, fromStep: event === 'start' ? step : steps } satisfies FakeLogLine) + '\n');
    log('start');
    // An input the runner reads, to show it gets local paths.
    readdirSync(ctx.inputs.model);
    while (step < steps) {
      ctx.signal.throwIfAborted();
      await sleep(opts.stepMs);
      step++;
      state = nextState(state, step, ctx);
      // Whole or absent, as the real runner's checkpoints: write a temporary file, then rename.
      writeFileSync(join(ckpt, `.step-${step}.tmp`), JSON.stringify({ state }));
      renameSync(join(ckpt, `.step-${step}.tmp`), join(ckpt, `step-${step}.json`));
    }
    const forgetQuality = Math.min(1, 1e-4 * Math.exp(2 * state / steps));
    const modelUtility = 0.62 - 0.05 * (state / steps) + 0.004 * ctx.trial.seed;
    log('finish');
    return {
      metrics: {
        forgetQuality: { value: forgetQuality, interval: null },
        modelUtility: { value: modelUtility, interval: [modelUtility - 0.02, modelUtility + 0.02] },
        'relearn.recovered': { value: null, unavailable: 'no relearning in the fake runner' },
      },
      targetMetrics: { forgetQuality: { value: 1e-5, interval: null }, modelUtility: { value: 0.62, interval: [0.6, 0.64] } },
    };
  };
}
