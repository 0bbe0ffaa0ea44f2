// The distributed sweep on BullMQ with a private redis-server on loopback and worker PROCESSES
// running the deterministic fake trial (sweep-child.ts):
// - 2 workers, one SIGKILLed in the middle of a trial, the coordinator stopped and started again:
//   every trial finishes exactly once and sweep.json's metrics equal the in-process run's;
// - a worker whose copy of the model differs refuses; after maxRefusals the trial fails with the
//   reason; started again with a worker that has the right copy, the sweep completes.

import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Queue } from 'bullmq';
import { connectionFromUrl, expandSweep, readSweepSpec, runSweep, type SweepFile } from '../../../src/pipeline/sweep/index.ts';
import { startChild, waitFor, type Child } from './child-process.ts';
import { fakeRunner, readLog } from './fake-runner.ts';
import { startRedis } from './redis-server.ts';
import { alteredModelCopy, makeSweepSetup } from './sweep-setup.ts';

const QUEUE_NAME = 'lethe-test';
const metricsById = (file: SweepFile) => Object.fromEntries(file.trials.map((t) => [t.id, t.metrics]));
/** sweep.json without what depends on where and when a trial ran (timings, attempts, worker). */
const results = (file: SweepFile) => ({
  name: file.name,
  sweepId: file.sweepId,
  selection: file.selection,
  trials: file.trials.map(({ id, settingId, method, seed, params, config, status, metrics, targetMetrics, error }) => ({ id, settingId, method, seed, params, config, status, metrics, targetMetrics, error })),
});

async function stopWorker(w: Child): Promise<void> {
  if (w.process.exitCode === null && w.process.signalCode === null) w.process.kill('SIGTERM');
  await w.exited;
}

/** A trial that has a checkpoint but no result in a worker's folder: one running there. */
function trialMidway(workDir: string): string | undefined {
  const trials = join(workDir, 'trials');
  if (!existsSync(trials)) return undefined;
  return readdirSync(trials).find((id) => existsSync(join(trials, id, 'checkpoints', 'step-1.json')) && !existsSync(join(trials, id, 'result.json')));
}

test('a sweep over 2 worker processes, one killed mid-trial and the coordinator restarted, finishes every trial exactly once with the in-process sweep.json (but for timings and workers)', async (t) => {
  const redis = await startRedis(t);
  if (!redis) return;
  const setup = makeSweepSetup([0], 5);
  const sweep = await expandSweep(readSweepSpec(setup.specPath));
  assert.equal(sweep.trials.length, 6);
  const local = await runSweep({ sweep, outDir: join(setup.root, 'local'), runner: fakeRunner({ logFile: join(setup.root, 'local.log'), stepMs: 5 }) });

  const logFile = join(setup.root, 'workers.log');
  const dirA = join(setup.root, 'worker-a');
  const dirB = join(setup.root, 'worker-b');
  const a = startChild(['worker', setup.specPath, dirA, logFile, '250', redis.url]);
  const b = startChild(['worker', setup.specPath, dirB, logFile, '250', redis.url]);
  try {
    const outDir = join(setup.root, 'distributed');
    const queue = { url: redis.url, name: QUEUE_NAME };
    const queueOptions = { pollMs: 100, refusalDelayMs: 200 };
    // Kill worker A once it is in the middle of a trial.
    const killed = waitFor('worker A in the middle of a trial', () => trialMidway(dirA)).then(async (id) => {
      a.process.kill('SIGKILL');
      await a.exited;
      return id;
    });
    // The coordinator stops after the first finished trial, then starts again.
    const stop = new AbortController();
    const first = await runSweep({ sweep, outDir, queue, queueOptions, signal: stop.signal, onProgress: (p) => p.done >= 1 && stop.abort() });
    assert.ok(first.trials.some((x) => x.status !== 'done'), 'the first coordinator stopped before the end');
    const final = await runSweep({ sweep, outDir, queue, queueOptions });
    const killedId = await killed;

    assert.ok(final.trials.every((x) => x.status === 'done'), JSON.stringify(final.trials.map((x) => [x.id, x.status, x.error])));
    assert.deepEqual(results(final), results(local));
    for (const x of final.trials) assert.ok(existsSync(join(outDir, 'trials', x.id, 'result.json')));

    const log = readLog(logFile);
    for (const x of sweep.trials) assert.equal(log.filter((l) => l.event === 'finish' && l.id === x.id).length, 1, `trial ${x.id} finished once`);
    const killedRun = final.trials.find((x) => x.id === killedId)!;
    assert.equal(killedRun.worker, `worker-${b.process.pid}`, 'the killed trial was finished by the other worker');
    assert.ok(log.some((l) => l.event === 'start' && l.id === killedId && l.pid === a.process.pid), 'worker A had started it');
    assert.ok(!log.some((l) => l.event === 'finish' && l.pid === a.process.pid && l.id === killedId));
    // Recorded jobs are removed from Redis once sweep.json holds them.
    const q = new Queue(QUEUE_NAME, { connection: connectionFromUrl(redis.url) });
    const counts = await q.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
    await q.close();
    assert.deepEqual(counts, { completed: 0, failed: 0, waiting: 0, active: 0, delayed: 0 });
  } finally {
    await stopWorker(a);
    await stopWorker(b);
    await redis.stop();
  }
});

test('a worker with a different copy of the model refuses; after maxRefusals the trial fails with the reason, and a worker with the right copy runs it', async (t) => {
  const redis = await startRedis(t);
  if (!redis) return;
  const setup = makeSweepSetup([0], 2);
  const sweep = await expandSweep(readSweepSpec(setup.specPath));
  const local = await runSweep({ sweep, outDir: join(setup.root, 'local'), runner: fakeRunner({ logFile: join(setup.root, 'local.log'), stepMs: 1 }) });
  const logFile = join(setup.root, 'workers.log');
  const bad = startChild(['worker', setup.specPath, join(setup.root, 'bad'), logFile, '20', redis.url, alteredModelCopy(setup)]);
  let good: Child | null = null;
  try {
    const outDir = join(setup.root, 'distributed');
    const queue = { url: redis.url, name: QUEUE_NAME };
    const refused = await runSweep({ sweep, outDir, queue, queueOptions: { pollMs: 100, maxRefusals: 3, refusalDelayMs: 100 } });
    assert.ok(refused.trials.every((x) => x.status === 'failed'));
    for (const x of refused.trials) {
      assert.match(x.error!, /refused 3 times/);
      assert.match(x.error!, new RegExp(`worker worker-${bad.process.pid} refuses trial ${x.id}: its model .* has content hash sha256:\\w+…, the sweep's has sha256:\\w+… \\(a different copy\\)`));
    }
    assert.equal(readLog(logFile).length, 0, 'the refusing worker ran nothing');

    good = startChild(['worker', setup.specPath, join(setup.root, 'good'), logFile, '20', redis.url]);
    const final = await runSweep({ sweep, outDir, queue, queueOptions: { pollMs: 100, maxRefusals: 50, refusalDelayMs: 100 } });
    assert.ok(final.trials.every((x) => x.status === 'done' && x.worker === `worker-${good!.process.pid}`));
    assert.deepEqual(metricsById(final), metricsById(local));
  } finally {
    await stopWorker(bad);
    if (good) await stopWorker(good);
    await redis.stop();
  }
});

test('a worker stopped with SIGTERM mid-trial hands the trial back; a worker on the same folder resumes it from its checkpoint', async (t) => {
  const redis = await startRedis(t);
  if (!redis) return;
  const setup = makeSweepSetup([0], 6);
  const sweep = await expandSweep(readSweepSpec(setup.specPath));
  const local = await runSweep({ sweep, outDir: join(setup.root, 'local'), runner: fakeRunner({ logFile: join(setup.root, 'local.log'), stepMs: 1 }) });
  const logFile = join(setup.root, 'workers.log');
  const workDir = join(setup.root, 'shared');
  const first = startChild(['worker', setup.specPath, workDir, logFile, '200', redis.url]);
  let second: Child | null = null;
  try {
    const outDir = join(setup.root, 'distributed');
    const coordinator = runSweep({ sweep, outDir, queue: { url: redis.url, name: QUEUE_NAME }, queueOptions: { pollMs: 100 } });
    const midway = await waitFor('the worker in the middle of a trial', () => trialMidway(workDir));
    first.process.kill('SIGTERM');
    await first.exited;
    assert.match(first.output(), new RegExp(`"kind":"released","trialId":"${midway}"`));
    second = startChild(['worker', setup.specPath, workDir, logFile, '20', redis.url]);
    const final = await coordinator;
    assert.ok(final.trials.every((x) => x.status === 'done'));
    assert.deepEqual(metricsById(final), metricsById(local));
    const restart = readLog(logFile).find((l) => l.event === 'start' && l.id === midway && l.pid === second!.process.pid);
    assert.ok(restart, 'the second worker ran the released trial');
    assert.equal(restart.resume, true);
    assert.ok(restart.fromStep >= 1, `resumed from step ${restart.fromStep}`);
    assert.equal(final.trials.find((x) => x.id === midway)!.worker, `worker-${second.process.pid}`);
  } finally {
    await stopWorker(first);
    if (second) await stopWorker(second);
    await redis.stop();
  }
});
