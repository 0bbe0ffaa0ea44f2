// The in-process sweep killed with SIGKILL in the middle of a trial and started again: finished
// trials are not run again, the interrupted one resumes from its last checkpoint, and the final
// sweep.json holds the same metrics as an uninterrupted run.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { expandSweep, readSweepFile, readSweepSpec, runSweep, type SweepFile } from '../../../src/pipeline/sweep/index.ts';
import { startChild, waitFor } from './child-process.ts';
import { fakeRunner, readLog } from './fake-runner.ts';
import { makeSweepSetup } from './sweep-setup.ts';

const metricsById = (file: SweepFile) => Object.fromEntries(file.trials.map((t) => [t.id, t.metrics]));

test('an in-process sweep killed mid-trial skips finished trials and resumes the interrupted one from its checkpoint', async () => {
  const setup = makeSweepSetup([0], 4);
  const sweep = await expandSweep(readSweepSpec(setup.specPath));
  assert.equal(sweep.trials.length, 6);

  const reference = await runSweep({ sweep, outDir: join(setup.root, 'uninterrupted'), runner: fakeRunner({ logFile: join(setup.root, 'ref.log'), stepMs: 5 }) });
  assert.ok(reference.trials.every((t) => t.status === 'done'));

  const out = join(setup.root, 'killed');
  const logFile = join(setup.root, 'killed.log');
  const child = startChild(['local', setup.specPath, out, logFile, '150']);
  // Kill once two trials are done and the third has written a checkpoint.
  const atKill = await waitFor('two finished trials and a checkpoint of the third', async () => {
    const file = await readSweepFile(join(out, 'sweep.json')).catch(() => null);
    const running = file?.trials.find((t) => t.status === 'running');
    if (!file || !running || file.trials.filter((t) => t.status === 'done').length < 2) return undefined;
    return existsSync(join(out, 'trials', running.id, 'checkpoints', 'step-1.json')) ? { file, running: running.id } : undefined;
  });
  child.process.kill('SIGKILL');
  await child.exited;
  const killedFile = (await readSweepFile(join(out, 'sweep.json')))!;
  const doneBefore = killedFile.trials.filter((t) => t.status === 'done').map((t) => t.id);
  const interrupted = killedFile.trials.find((t) => t.status === 'running');
  assert.ok(interrupted, 'the killed sweep left one trial running');
  assert.ok(doneBefore.length >= 2);
  const stepsBefore = readFileSync(join(out, 'trials', interrupted.id, 'checkpoints', 'step-1.json'), 'utf8');
  assert.ok(stepsBefore.length > 0);
  const linesBefore = readLog(logFile).length;

  const resumed = await runSweep({ sweep, outDir: out, runner: fakeRunner({ logFile, stepMs: 5 }) });
  const after = readLog(logFile).slice(linesBefore);
  const starts = after.filter((l) => l.event === 'start');
  for (const id of doneBefore) assert.ok(!starts.some((s) => s.id === id), `finished trial ${id} ran again`);
  const restart = starts.find((s) => s.id === interrupted.id);
  assert.ok(restart, 'the interrupted trial ran again');
  assert.equal(restart.resume, true);
  assert.ok(restart.fromStep >= 1, `resumed from step ${restart.fromStep}, a checkpoint existed`);
  assert.equal(starts.length, 6 - doneBefore.length, 'each unfinished trial started once');
  assert.ok(resumed.trials.every((t) => t.status === 'done'));
  assert.deepEqual(metricsById(resumed), metricsById(reference));
  assert.equal(atKill.running, interrupted.id);
  assert.equal(resumed.trials.find((t) => t.id === interrupted.id)!.attempts, 2);
});
