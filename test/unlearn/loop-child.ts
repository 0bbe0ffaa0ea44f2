// A small training run for the loop tests, runnable as a child process so a test can kill it
// with SIGKILL: `node --import tsx loop-child.ts RUN_DIR [delayMs]`. Prints nothing; the run
// directory holds the checkpoints.
import { Graph } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { TrainStep } from '../../src/engine/train-step.ts';
import { Rng } from '../../src/engine/random.ts';
import { runLoop, type LoopHooks } from '../../src/unlearn/loop.ts';

export const STEPS = 30;

export function makeRun(runDir: string, delayMs = 0, hooks: Partial<LoopHooks> = {}, stateDtype: 'float32' | 'bfloat16' = 'float32') {
  const g = new Graph();
  const w1 = g.input('w1', 'float32', [6, 16]);
  const w2 = g.input('w2', 'float32', [16, 1]);
  const x = g.input('x', 'float32', ['N', 6]);
  const y = g.input('y', 'float32', ['N', 1]);
  const loss = o.mean(o.square(o.sub(o.matmul(o.tanh(o.matmul(x, w1)), w2), y)));
  const rng = new Rng(1);
  const init = new Map([
    ['w1', { dtype: 'float32' as const, shape: [6, 16], data: rng.normalArray(96, 0.5) }],
    ['w2', { dtype: 'float32' as const, shape: [16, 1], data: rng.normalArray(16, 0.5) }],
  ]);
  const step = TrainStep.create({ loss, params: [w1, w2], data: [x, y], optimizer: { kind: 'adamw', maxGradNorm: 1, stateDtype } }, init);
  const batchesFor = (s: number) => {
    const r = new Rng(1000 + s); // data of step s depends on s only
    const xs = r.normalArray(8 * 6);
    const ys = Float32Array.from({ length: 8 }, (_, i) => Math.sin(xs[i * 6]) + 0.5 * xs[i * 6 + 1]);
    return [{ x: { dtype: 'float32' as const, shape: [8, 6], data: xs }, y: { dtype: 'float32' as const, shape: [8, 1], data: ys } }];
  };
  const run = () =>
    runLoop(step, { schedule: { kind: 'cosine', lr: 0.02, warmupSteps: 3, totalSteps: STEPS }, runDir, checkpointEvery: 4, evalEvery: 0, resume: true }, {
      batchesFor: (s) => {
        if (delayMs) {
          const until = Date.now() + delayMs;
          while (Date.now() < until); // a slow step, so a kill lands mid-run
        }
        return batchesFor(s);
      },
      ...hooks,
    });
  return { step, run };
}

if (process.argv[1]?.endsWith('loop-child.ts')) {
  const [runDir, delay] = process.argv.slice(2);
  const { run, step } = makeRun(runDir, Number(delay ?? 0));
  await run();
  await step.dispose();
}
