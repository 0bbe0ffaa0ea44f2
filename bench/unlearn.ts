// Unlearning benchmark: NPO with a retain NLL term on the GPT-2-124M shape, samples per second
// over a whole run (lethe's frozen-reference pass included), beside a PyTorch implementation that
// runs the frozen reference model every step the way the published framework does
// (bench/peers/unlearn.py). Same shapes both sides: B rows of T random tokens, the first P prompt.

import { availableParallelism, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch } from '../src/data/batches.ts';
import { Rng } from '../src/engine/random.ts';
import { createModel } from '../src/models/model.ts';
import { presetConfig } from '../src/models/presets.ts';
import { unlearnBatches } from '../src/unlearn/run.ts';
import { runPeer } from './peer.ts';
import { nextTokenBatch, type SuiteResult } from './util.ts';

const [B, T, P, BATCHES, EPOCHS] = [4, 128, 32, 4, 2];

function syntheticBatch(rng: Rng): Batch {
  return nextTokenBatch(Array.from({ length: B * T }, () => rng.int(50257)), B, T, P);
}

export async function benchUnlearn(opts: { log: (s: string) => void }): Promise<SuiteResult> {
  const rng = new Rng(1);
  const forget = Array.from({ length: BATCHES }, () => syntheticBatch(rng));
  const retain = Array.from({ length: BATCHES }, () => syntheticBatch(rng));
  const model = createModel(presetConfig('gpt2-124m'), { seed: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'lethe-bench-unlearn-'));
  const stepEnds: number[] = [];
  const t0 = performance.now();
  const run = await unlearnBatches(model, { forget, retain }, {
    method: 'npo', lr: 1e-5, optimizer: { kind: 'adamw', weightDecay: 0.01, maxGradNorm: 1 },
    batchSize: B, epochs: EPOCHS, runDir: dir,
    onProgress: (p) => {
      stepEnds.push(performance.now());
      opts.log(`lethe step ${p.step}/${p.steps}: loss ${p.loss.toFixed(4)}`);
    },
  });
  const total = (performance.now() - t0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  const steps = run.loop.steps;
  // The first step also compiles the step program (once per run and shape): reported apart.
  const compileAndFirst = (stepEnds[0] - t0) / 1000;
  const steady = (stepEnds[stepEnds.length - 1] - stepEnds[0]) / 1000 / (steps - 1);
  const letheRate = (steps * B) / (total - compileAndFirst + steady);
  opts.log(`lethe: ${letheRate.toFixed(3)} samples/s (run ${total.toFixed(1)} s incl. reference pass; compile + first step ${compileAndFirst.toFixed(1)} s, counted as one step)`);
  const peer = runPeer('unlearn.py', ['--batch', String(B), '--seq', String(T), '--prompt', String(P), '--batches', String(BATCHES), '--epochs', String(EPOCHS), '--threads', String(availableParallelism())]) as {
    torch: string;
    samples_per_second: number;
  };
  const ratio = Number((letheRate / peer.samples_per_second).toFixed(3));
  const cases = [{ name: 'npo', lethe: Number(letheRate.toFixed(3)), peer: Number(peer.samples_per_second.toFixed(3)), unit: 'samples/s', ratio }];
  return {
    suite: 'unlearn',
    table: {
      head: ['case', 'lethe samples/s', `PyTorch ${peer.torch} samples/s`, 'ratio'],
      rows: cases.map((c) => [c.name, c.lethe.toFixed(3), c.peer.toFixed(3), c.ratio.toFixed(2)]),
      notes: [
        `NPO + retain NLL, GPT-2-124M shape, ${EPOCHS} epochs × ${BATCHES} batches of ${B}×${T}; lethe's time includes its one reference pass; its one-time compile (${(compileAndFirst - steady).toFixed(1)} s) is left out`,
      ],
    },
    json: { suite: 'unlearn', cases, min_ratio: ratio },
  };
}
