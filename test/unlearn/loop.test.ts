// The training loop: exact resume after a crash and after SIGKILL, divergence stops that keep
// the last good weights, best-checkpoint selection, the log and the lr schedule.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { latestCheckpoint, loadCheckpoint } from '../../src/unlearn/checkpoint.ts';
import { runLoop } from '../../src/unlearn/loop.ts';
import { lrAt } from '../../src/unlearn/schedule.ts';
import { makeRun, STEPS } from './loop-child.ts';

const temp = () => mkdtempSync(join(tmpdir(), 'lethe-loop-'));

async function finalWeights(dir: string): Promise<(Float32Array | Uint16Array)[]> {
  const { tensors, meta } = await loadCheckpoint((await latestCheckpoint(join(dir, 'checkpoints')))!);
  assert.equal(meta.step, STEPS);
  return ['w1', 'w2', 'w1.adam_m', 'w2.adam_v'].map((n) => tensors.get(n)!.data as Float32Array | Uint16Array);
}

test('a run that crashes and resumes ends with the same weights as an uninterrupted one', async () => {
  const whole = temp();
  const a = makeRun(whole);
  const full = await a.run();
  assert.equal(full.stopped, 'done');
  await a.step.dispose();

  const broken = temp();
  const b = makeRun(broken, 0, { tokensFor: (s) => { if (s === 13) throw new Error('crash'); return 0; } });
  await assert.rejects(b.run(), /crash/);
  await b.step.dispose();
  const c = makeRun(broken);
  const resumed = await c.run();
  assert.equal(resumed.resumedFrom, 12); // checkpoints every 4 steps
  await c.step.dispose();
  assert.deepEqual(await finalWeights(broken), await finalWeights(whole));
  const log = readFileSync(join(broken, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log.map((l) => l.step), Array.from({ length: STEPS }, (_, i) => i + 1));
});

test('with bfloat16 optimiser state, the checkpoints hold it as BF16 and a resumed run ends bit-identical', async () => {
  // The stochastic rounding's noise is a function of the step alone, so the resumed steps round as the uninterrupted ones did.
  const whole = temp();
  const a = makeRun(whole, 0, {}, 'bfloat16');
  assert.equal((await a.run()).stopped, 'done');
  await a.step.dispose();
  const broken = temp();
  const b = makeRun(broken, 0, { tokensFor: (s) => { if (s === 10) throw new Error('crash'); return 0; } }, 'bfloat16');
  await assert.rejects(b.run(), /crash/);
  await b.step.dispose();
  const c = makeRun(broken, 0, {}, 'bfloat16');
  assert.equal((await c.run()).resumedFrom, 8);
  await c.step.dispose();
  const [w1, w2, m, v] = await finalWeights(broken);
  assert.ok(w1 instanceof Float32Array && w2 instanceof Float32Array && m instanceof Uint16Array && v instanceof Uint16Array, 'weights float32, moments bfloat16 bits');
  assert.deepEqual([w1, w2, m, v], await finalWeights(whole));
  // A float32-state run cannot take these checkpoints: one line naming the tensor and both dtypes.
  const d = makeRun(broken, 0, {}, 'float32');
  await assert.rejects(d.run(), /"w1\.adam_m" is bfloat16 in the values given, but this run keeps it as float32/);
  await d.step.dispose();
});

test('a run killed with SIGKILL mid-training and resumed ends with the same weights', async () => {
  const whole = temp();
  const a = makeRun(whole);
  await a.run();
  await a.step.dispose();

  const killed = temp();
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./loop-child.ts', import.meta.url)), killed, '40'], { stdio: 'ignore' });
  // Kill once a mid-run checkpoint exists.
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const dir = join(killed, 'checkpoints');
      if (existsSync(dir) && readdirSync(dir).some((n) => n === 'step-000008')) {
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve();
      }
    }, 10);
    child.on('exit', (code) => {
      clearInterval(timer);
      if (code !== null) reject(new Error(`the child finished (code ${code}) before it was killed`));
    });
  });
  await new Promise((r) => child.once('exit', r).once('close', r));
  const c = makeRun(killed);
  const resumed = await c.run();
  await c.step.dispose();
  assert.ok(resumed.resumedFrom! >= 8 && resumed.resumedFrom! < STEPS, `resumed from ${resumed.resumedFrom}`);
  assert.deepEqual(await finalWeights(killed), await finalWeights(whole));
});

test('NaN in the loss stops the run and keeps the last good checkpoint', async () => {
  const dir = temp();
  const { step } = makeRun(dir);
  const result = await runLoop(step, { schedule: { kind: 'constant', lr: 0.01, warmupSteps: 0, totalSteps: 20 }, runDir: dir, checkpointEvery: 4, evalEvery: 0, resume: false }, {
    // The data of step 10 (0-based 9) is poisoned: its loss is NaN.
    batchesFor: (s) => [{
      x: { dtype: 'float32', shape: [1, 6], data: Float32Array.from([s === 9 ? NaN : 1, 0, 0, 0, 0, 0]) },
      y: { dtype: 'float32', shape: [1, 1], data: Float32Array.of(0.5) },
    }],
  });
  assert.equal(result.stopped, 'diverged');
  assert.match(result.reason!, /loss became NaN at step 10; kept the weights of step 8, the last checkpoint a later step showed a finite loss for/);
  const good = await loadCheckpoint(join(dir, 'checkpoints', 'step-000008'));
  assert.deepEqual([...(step.get('w1').data as Float32Array)], [...(good.tensors.get('w1')!.data as Float32Array)]);
  assert.match(readFileSync(join(dir, 'log.jsonl'), 'utf8'), /"diverged":"loss became NaN"/);
  await step.dispose();
});

test('evaluation picks the best step and keeps its weights apart', async () => {
  const dir = temp();
  const scores = [0.1, 0.7, 0.3];
  let k = 0;
  const r = makeRun(dir);
  const result = await runLoop(r.step, { schedule: { kind: 'constant', lr: 0.01, warmupSteps: 0, totalSteps: 30 }, runDir: dir, checkpointEvery: 0, evalEvery: 10, resume: false }, {
    batchesFor: () => [{ x: { dtype: 'float32', shape: [1, 6], data: new Float32Array(6).fill(0.3) }, y: { dtype: 'float32', shape: [1, 1], data: Float32Array.of(1) } }],
    evaluate: async () => ({ score: scores[k++], metrics: { probe: k } }),
  });
  await r.step.dispose();
  assert.equal(result.bestStep, 20);
  assert.equal(result.bestScore, 0.7);
  const best = await loadCheckpoint(join(dir, 'checkpoints', 'best'));
  assert.equal(best.meta.step, 20);
  const evals = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.eval);
  assert.deepEqual(evals.map((l) => l.step), [10, 20, 30]);
});

test('schedules: warm-up then constant, linear and cosine decay', () => {
  const s = { lr: 1, warmupSteps: 4, totalSteps: 14 };
  assert.deepEqual([0, 1, 2, 3].map((i) => lrAt({ ...s, kind: 'constant' }, i)), [0.25, 0.5, 0.75, 1]);
  assert.equal(lrAt({ ...s, kind: 'constant' }, 13), 1);
  assert.equal(lrAt({ ...s, kind: 'linear' }, 9), 0.5);
  assert.ok(Math.abs(lrAt({ ...s, kind: 'cosine' }, 9) - 0.5) < 1e-12);
  assert.equal(lrAt({ ...s, kind: 'cosine' }, 14), 0);
});
