// The training options `lethe train` and `lethe unlearn` share (optimiser, schedule, batches,
// checkpoints), their schema fields, and how a resolved set becomes the library's RunOptions.

import { LetheError } from '../engine/errors.ts';
import type { LoopResult } from '../unlearn/loop.ts';

export { SCHEDULES, OPTIMIZERS, trainingFields, resolveTraining, optimizerChoice, stepsPerEpoch, runOptions, type ResolvedTraining } from '../pipeline/options/training.ts';
export { baseLayers, claimRunFolder, readSources, checkResumeMatches, lastLogLine, nothingToResume } from '../pipeline/run-folder.ts';

/**
 * After a run's model is saved: its notices on stderr, and a diverged run ends with exit code
 * 3 and one line saying which weights `modelDir` holds and why.
 */
export function endOfRun(command: string, loop: LoopResult, modelDir: string): void {
  for (const n of loop.notices) process.stderr.write(`lethe ${command}: ${n}\n`);
  if (loop.stopped === 'diverged') throw new LetheError(`${command} diverged: ${loop.reason ?? 'stopped'}; ${modelDir} holds the weights of step ${loop.keptStep}`, 3);
}
