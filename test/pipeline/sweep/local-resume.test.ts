// The in-process sweep killed with SIGKILL in the middle of a trial and started again: finished
// trials are not run again, the interrupted one resumes from its last checkpoint, and the final
// sweep.json holds the same metrics as an uninterrupted run.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LetheError } from '../../../src/engine/errors.ts';
import { expandSweep, readSweepFile, readSweepSpec, runSweep, type SweepFile, type TrialRunner } from '../../../src/pipeline/sweep/index.ts';
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

test('a trial whose runner fails is recorded failed with its one-line reason and tried again on the next start; a folder holding another sweep is refused', async () => {
  const setup = makeSweepSetup([0], 1);
  const sweep = await expandSweep(readSweepSpec(setup.specPath));
  const out = join(setup.root, 'out');
  const ok = fakeRunner({ logFile: join(setup.root, 'log'), stepMs: 0 });
  const failing = sweep.trials[2].id;
  const flaky: TrialRunner = async (ctx) => {
    if (ctx.trial.id === failing) throw new LetheError(`${ctx.inputs.forget}: line 3: expected a JSON object`);
    return ok(ctx);
  };
  const first = await runSweep({ sweep, outDir: out, runner: flaky });
  const bad = first.trials.find((t) => t.id === failing)!;
  assert.equal(bad.status, 'failed');
  assert.equal(bad.error, `${join(setup.root, 'inputs', 'forget.jsonl')}: line 3: expected a JSON object`);
  assert.equal(first.trials.filter((t) => t.status === 'done').length, 5);
  const second = await runSweep({ sweep, outDir: out, runner: ok });
  assert.ok(second.trials.every((t) => t.status === 'done'));
  assert.equal(readLog(join(setup.root, 'log')).filter((l) => l.event === 'start').length, 6, 'only the failed trial ran again');

  const other = await expandSweep({ ...readSweepSpec(setup.specPath), seeds: [7] });
  await assert.rejects(runSweep({ sweep: other, outDir: out, runner: ok }), (e: Error) => e instanceof LetheError && /sweep\.json: holds another sweep \(tiny, 6 trials, id \w+\); choose a new --out or remove it$/.test(e.message));
});

test('a second process on a sweep folder in use is refused; a lock left by a killed process is taken over', async () => {
  const setup = makeSweepSetup([0], 1);
  const sweep = await expandSweep(readSweepSpec(setup.specPath));
  const out = join(setup.root, 'out');
  const child = startChild(['local', setup.specPath, out, join(setup.root, 'log'), '400']);
  await waitFor('the child running its sweep', () => (existsSync(join(out, '.sweep.lock')) && existsSync(join(out, 'sweep.json')) ? true : undefined));
  await assert.rejects(runSweep({ sweep, outDir: out, runner: fakeRunner({ logFile: join(setup.root, 'log2'), stepMs: 0 }) }), (e: Error) =>
    e instanceof LetheError && e.message.startsWith(`${out}: the sweep is being run by process ${child.process.pid} on `));
  child.process.kill('SIGKILL');
  await child.exited;
  const done = await runSweep({ sweep, outDir: out, runner: fakeRunner({ logFile: join(setup.root, 'log2'), stepMs: 0 }) });
  assert.ok(done.trials.every((t) => t.status === 'done'));
  assert.ok(!existsSync(join(out, '.sweep.lock')), 'released at the end');
});
