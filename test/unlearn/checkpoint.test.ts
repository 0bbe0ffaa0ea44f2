// Checkpoints are checked before they are trusted (manifest, checksum, step, needed tensors,
// finite values; a damaged newest one is skipped with a notice), the divergence rule keeps only
// weights a later finite loss vouched for, and the log survives torn lines and a full disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { LetheError } from '../../src/engine/errors.ts';
import { latestIntactCheckpoint, loadCheckpoint, saveCheckpoint, saveStepCheckpoint } from '../../src/unlearn/checkpoint.ts';
import { runLoop, logLinesUpTo } from '../../src/unlearn/loop.ts';
import { makeRun, STEPS } from './loop-child.ts';

const root = mkdtempSync(join(tmpdir(), 'lethe-ckpt-'));
let k = 0;
const temp = () => join(root, String(k++));
const t = (data: number[], shape = [data.length]): HostTensor => ({ dtype: 'float32', shape, data: Float32Array.from(data) });
const damaged = (re: RegExp) => (e: unknown) => e instanceof LetheError && e.exitCode === 2 && /damaged checkpoint/.test(e.message) && re.test(e.message);
const meta = (step: number) => ({ step, bestScore: null, bestStep: null });

test('a checkpoint round-trips with its manifest; each kind of damage is one line naming the file', async () => {
  const dir = temp();
  const path = await saveStepCheckpoint(dir, new Map([['w', t([1, 2, 3, 4], [2, 2])], ['b', t([5])]]), meta(4));
  const ok = await loadCheckpoint(path, { names: ['w', 'b'], maxStep: 10 });
  assert.equal(ok.meta.step, 4);
  assert.deepEqual([...ok.tensors.get('w')!.data], [1, 2, 3, 4]);
  const m = JSON.parse(readFileSync(join(path, 'meta.json'), 'utf8'));
  assert.deepEqual(m.manifest.tensors, { w: { dtype: 'float32', shape: [2, 2] }, b: { dtype: 'float32', shape: [1] } });

  // meta.json = {} (used to resume "from step undefined")
  writeFileSync(join(path, 'meta.json'), '{}');
  await assert.rejects(loadCheckpoint(path), damaged(/meta\.json: damaged checkpoint: step: missing/));
  // a step of 999 (used to end the run with the step-15 weights as final)
  writeFileSync(join(path, 'meta.json'), JSON.stringify({ ...m, step: 999 }));
  await assert.rejects(loadCheckpoint(path), damaged(/step 999 but the folder is step-000004/));
  writeFileSync(join(path, 'meta.json'), JSON.stringify(m));
  await assert.rejects(loadCheckpoint(path, { maxStep: 3 }), damaged(/step 4 is past the run's last step 3/));
  // a tensor the run needs is missing (used to keep the input's value)
  await assert.rejects(loadCheckpoint(path, { names: ['w', 'b', 'c'] }), damaged(/tensor "c" that the run needs is missing/));
  // a flipped byte in the state file
  const state = readFileSync(join(path, 'state.safetensors'));
  const flipped = Buffer.from(state);
  flipped[flipped.length - 1] ^= 1;
  writeFileSync(join(path, 'state.safetensors'), flipped);
  await assert.rejects(loadCheckpoint(path), damaged(/state\.safetensors: damaged checkpoint: its contents do not match the checksum/));
  writeFileSync(join(path, 'state.safetensors'), state);
  await loadCheckpoint(path);
});

test('a NaN weight in a checkpoint (even with a matching checksum) is refused naming the tensor', async () => {
  const path = await saveCheckpoint(temp(), 'step-000002', new Map([['w', t([1, NaN])]]), meta(2));
  await assert.rejects(loadCheckpoint(path), damaged(/tensor "w" holds NaN at flat index 1/));
});

test('latestIntactCheckpoint falls back past a damaged newest checkpoint and says so; none intact: one error naming the newest', async () => {
  const dir = temp();
  await saveStepCheckpoint(dir, new Map([['w', t([1])]]), meta(4));
  const newest = await saveStepCheckpoint(dir, new Map([['w', t([2])]]), meta(8));
  writeFileSync(join(newest, 'meta.json'), '{"step": 8');
  const got = (await latestIntactCheckpoint(dir))!;
  assert.equal(got.meta.step, 4);
  assert.equal(got.skipped.length, 1);
  assert.match(got.skipped[0].reason, /step-000008\/meta\.json: damaged checkpoint/);
  assert.equal((await latestIntactCheckpoint(dir, {}, 4)), null);
  writeFileSync(join(dir, 'step-000004', 'state.safetensors'), 'junk');
  await assert.rejects(latestIntactCheckpoint(dir), (e: unknown) => e instanceof LetheError && /no intact checkpoint in .*step-000008\/meta\.json/.test(e.message));
});

test('resume skips a damaged newest checkpoint with a notice and still ends equal to an uninterrupted run', async () => {
  const whole = makeRun(temp());
  await whole.run();
  const dir = temp();
  const first = makeRun(dir, 0, { tokensFor: (s) => { if (s === 13) throw new Error('crash'); return 0; } });
  await assert.rejects(first.run(), /crash/);
  await first.step.dispose();
  // checkpoints every 4 steps: 8 and 12 exist; damage 12
  writeFileSync(join(dir, 'checkpoints', 'step-000012', 'state.safetensors'), 'x');
  const again = makeRun(dir);
  const r = await again.run();
  assert.equal(r.resumedFrom, 8);
  assert.match(r.notices.join('\n'), /skipped a damaged checkpoint \(.*step-000012\/state\.safetensors: damaged checkpoint: .*\); resumed from .*step-000008/);
  assert.equal(r.steps, STEPS);
  for (const n of ['w1', 'w2']) assert.deepEqual(again.step.get(n).data, whole.step.get(n).data);
  await again.step.dispose();
  await whole.step.dispose();
});

test('issue 15: no step-0 checkpoint is written; a run killed before its first checkpoint restarts from the input and ends equal', async () => {
  const whole = makeRun(temp());
  await whole.run();
  const dir = temp();
  const first = makeRun(dir, 0, { tokensFor: (s) => { if (s === 2) throw new Error('crash'); return 0; } });
  await assert.rejects(first.run(), /crash/);
  await first.step.dispose();
  assert.deepEqual(existsSync(join(dir, 'checkpoints')) ? readdirSync(join(dir, 'checkpoints')) : [], []);
  const again = makeRun(dir);
  const r = await again.run();
  assert.equal(r.resumedFrom, null);
  assert.equal(r.steps, STEPS);
  for (const n of ['w1', 'w2']) assert.deepEqual(again.step.get(n).data, whole.step.get(n).data);
  await again.step.dispose();
  await whole.step.dispose();
});

test('issue 13.5: a checkpoint whose weights gave a NaN loss at the next step is not kept; the input weights are', async () => {
  const dir = temp();
  const { step } = makeRun(dir);
  const init = ['w1', 'w2'].map((n) => Float32Array.from(step.get(n).data as Float32Array));
  // Checkpoint every step; the loss of step 2 (computed on the weights of step 1) is NaN.
  const r = await runLoop(step, { schedule: { kind: 'constant', lr: 0.01, warmupSteps: 0, totalSteps: 5 }, runDir: dir, checkpointEvery: 1, evalEvery: 0, resume: false }, {
    batchesFor: (s) => [{
      x: { dtype: 'float32', shape: [1, 6], data: Float32Array.from([s === 1 ? NaN : 1, 0, 0, 0, 0, 0]) },
      y: { dtype: 'float32', shape: [1, 1], data: Float32Array.of(0.5) },
    }],
  });
  assert.equal(r.stopped, 'diverged');
  assert.equal(r.keptStep, 0);
  assert.match(r.reason!, /^loss became NaN at step 2; kept the input weights \(step 0\)/);
  assert.ok(existsSync(join(dir, 'checkpoints', 'step-000001')), 'the unverified step-1 checkpoint exists but is not used');
  assert.deepEqual(['w1', 'w2'].map((n) => step.get(n).data), init);
  await step.dispose();
});

test('a finite loss with an exploding gradient still vouches for the weights it was computed on', async () => {
  const dir = temp();
  const { step } = makeRun(dir);
  let at2: Float32Array | null = null;
  const r = await runLoop(step, { schedule: { kind: 'constant', lr: 0.01, warmupSteps: 0, totalSteps: 6 }, runDir: dir, checkpointEvery: 1, evalEvery: 0, resume: false, divergenceGradNorm: 1e3 }, {
    batchesFor: (s) => {
      if (s === 2) at2 = Float32Array.from(step.get('w1').data as Float32Array);
      return [{ x: { dtype: 'float32', shape: [1, 6], data: Float32Array.from([s === 2 ? 1e6 : 1, 0, 0, 0, 0, 0]) }, y: { dtype: 'float32', shape: [1, 1], data: Float32Array.of(s === 2 ? 1e6 : 0.5) } }];
    },
  });
  assert.equal(r.stopped, 'diverged');
  assert.equal(r.keptStep, 2, r.reason);
  assert.deepEqual(step.get('w1').data, at2);
  await step.dispose();
});

test('the final weights need a finite loss too: a last update that overflows is not kept', async () => {
  const dir = temp();
  const { step } = makeRun(dir);
  const init = Float32Array.from(step.get('w2').data as Float32Array);
  // One step at lr 1e30: Adam moves every weight by about 1e30, so the loss on them is Infinity.
  const r = await runLoop(step, { schedule: { kind: 'constant', lr: 1e30, warmupSteps: 0, totalSteps: 1 }, runDir: dir, checkpointEvery: 0, evalEvery: 0, resume: false }, {
    batchesFor: () => [{ x: { dtype: 'float32', shape: [1, 6], data: Float32Array.of(1, 1, 1, 1, 1, 1) }, y: { dtype: 'float32', shape: [1, 1], data: Float32Array.of(0.5) } }],
  });
  assert.equal(r.stopped, 'diverged');
  assert.match(r.reason!, /on the final weights \(check pass\) at step 1; kept the input weights \(step 0\)/);
  assert.deepEqual(step.get('w2').data, init);
  // Step 0 is restored from the input weights, never written (issue 15): no checkpoint at all.
  assert.deepEqual(existsSync(join(dir, 'checkpoints')) ? readdirSync(join(dir, 'checkpoints')) : [], []);
  await step.dispose();
});

test('issue 13.7: resume drops a torn last log line with a notice; lines after the checkpoint are rewritten', async () => {
  const dir = temp();
  const a = makeRun(dir, 0, { tokensFor: (s) => { if (s === 9) throw new Error('crash'); return 0; } });
  await assert.rejects(a.run(), /crash/);
  await a.step.dispose();
  writeFileSync(join(dir, 'log.jsonl'), readFileSync(join(dir, 'log.jsonl'), 'utf8') + '{"step": 10, "loss": 0.1');
  const b = makeRun(dir);
  const r = await b.run();
  await b.step.dispose();
  assert.equal(r.resumedFrom, 8);
  assert.match(r.notices.join('\n'), /log\.jsonl: dropped 1 cut line/);
  const steps = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, Array.from({ length: STEPS }, (_, i) => i + 1));
  assert.deepEqual(logLinesUpTo('{"step":1}\n{"step":2}\n{"st', 1), { kept: ['{"step":1}'], torn: 1 });
});

test('a full disk during a log append is one LetheError naming the log', async () => {
  const { appendLogLine } = await import('../../src/unlearn/loop.ts');
  await assert.rejects(appendLogLine('/dev/full', { step: 1 }), (e: unknown) => e instanceof LetheError && /^\/dev\/full: could not append to the run log \(ENOSPC\)$/.test(e.message));
});
