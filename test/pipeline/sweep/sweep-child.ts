// A child process for the sweep tests (so that it can be killed with SIGKILL):
//   sweep-child.ts local SPEC OUT LOG STEP_MS          the in-process sweep
//   sweep-child.ts worker SPEC WORKDIR LOG STEP_MS URL [MODEL_PATH]  a BullMQ worker until SIGTERM
// MODEL_PATH makes the worker read the model from another folder (another copy).

import { expandSweep, readSweepSpec, runSweep, runWorker } from '../../../src/pipeline/sweep/index.ts';
import { fakeRunner } from './fake-runner.ts';

const [mode, specPath, dir, logFile, stepMs, url, modelPath] = process.argv.slice(2);
const runner = fakeRunner({ logFile, stepMs: Number(stepMs) });
if (mode === 'local') {
  const sweep = await expandSweep(readSweepSpec(specPath));
  await runSweep({ sweep, outDir: dir, runner });
} else {
  const stop = new AbortController();
  process.on('SIGTERM', () => stop.abort());
  process.stdout.write('ready\n');
  await runWorker({
    queue: { url, name: 'lethe-test' },
    runner,
    workDir: dir,
    workerId: `worker-${process.pid}`,
    resolveInput: (role, ref) => (role === 'model' && modelPath ? modelPath : ref.path),
    // Short, so a killed worker's trial moves on within seconds; long enough that a busy machine
    // does not take a live worker for stalled.
    lockDuration: 4000,
    stalledInterval: 1000,
    signal: stop.signal,
    onEvent: (e) => process.stdout.write(JSON.stringify(e) + '\n'),
  });
}
