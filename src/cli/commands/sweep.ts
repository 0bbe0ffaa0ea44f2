// `lethe sweep SWEEP.yaml --out DIR [--queue redis://HOST:PORT]` and `lethe worker --queue
// redis://HOST:PORT [--work-dir DIR]`: thin layers over runSweepFile and runWorker with lethe's
// real trial runner (src/pipeline/sweep/). The sweep code loads only when a command runs.
import type { Command } from 'commander';
import { LetheError } from '../../engine/errors.ts';
import { formatDuration, progressDisplay } from '../progress.ts';

/** Aborts `controller` on the first of `signals`; returns the function that stops listening. */
function abortOn(controller: AbortController, signals: NodeJS.Signals[], say: (s: NodeJS.Signals) => void): () => void {
  const handler = (s: NodeJS.Signals) => {
    say(s);
    controller.abort();
  };
  for (const s of signals) process.once(s, handler);
  return () => {
    for (const s of signals) process.removeListener(s, handler);
  };
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('run a sweep (methods × settings × seeds: unlearn → evaluate → attack per trial) and write DIR/sweep.json; resumable, in this process or across machines with --queue')
    .argument('<sweep-file>', 'the sweep file (YAML): model, data, methods and their options to try, seeds, evaluations, attacks, selection rule')
    .requiredOption('-o, --out <dir>', 'the sweep folder: sweep.json and trials/<id>/ (run again to continue a stopped sweep)')
    .option('--queue <url>', 'redis://HOST:PORT: put the trials on a BullMQ queue for `lethe worker` processes and follow them')
    .option('--queue-name <name>', 'the BullMQ queue (default lethe-trials; workers must use the same)')
    .action(async (file: string, options: { out: string; queue?: string; queueName?: string }) => {
      const { runSweepFile, formatProgress } = await import('../../pipeline/sweep/index.ts');
      const t0 = performance.now();
      const say = (line: string) => process.stdout.write(`lethe sweep [${formatDuration((performance.now() - t0) / 1000)}] ${line}\n`);
      const controller = new AbortController();
      const stop = abortOn(controller, ['SIGINT', 'SIGTERM'], (s) => say(`${s}: stopping${options.queue ? ' (the queued trials stay queued)' : ' after the current step (the trial resumes from its checkpoint next time)'}`));
      let last = '';
      try {
        const result = await runSweepFile({
          file, outDir: options.out,
          ...(options.queue ? { queue: { url: options.queue, ...(options.queueName ? { name: options.queueName } : {}) } } : {}),
          runner: { progress: (label) => progressDisplay(`  ${label}`) },
          signal: controller.signal,
          onProgress: (p) => {
            const line = formatProgress(p);
            if (line !== last) say(line);
            last = line;
          },
        });
        const failed = result.trials.filter((t) => t.status === 'failed');
        for (const t of failed) say(`failed: ${t.method} ${t.id}: ${t.error ?? 'no reason given'}`);
        if (controller.signal.aborted) throw new LetheError(`sweep stopped; run the same command again to continue (${options.out}/sweep.json)`, 130);
        say(`wrote ${options.out}/sweep.json; lethe report ${options.out} compares the trials`);
        // A sweep with failed trials is not a success: exit 1 (the reasons are above; a rerun retries them).
        if (failed.length > 0) throw new LetheError(`${failed.length} of ${result.trials.length} trials failed (see above); running the same command again retries them`, 1);
      } finally {
        stop();
      }
    });
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('take sweep trials from a BullMQ queue one at a time, run them here and return their results (SIGINT/SIGTERM hands the current trial back)')
    .requiredOption('--queue <url>', 'redis://HOST:PORT, as given to lethe sweep --queue')
    .option('--queue-name <name>', 'the BullMQ queue (default lethe-trials)')
    .option('--work-dir <dir>', 'where trial folders go (WORKDIR/trials/<id>/)', 'runs/worker')
    .action(async (options: { queue: string; queueName?: string; workDir: string }) => {
      const { runWorker, realTrialRunner } = await import('../../pipeline/sweep/index.ts');
      const t0 = performance.now();
      const say = (line: string) => process.stdout.write(`lethe worker [${formatDuration((performance.now() - t0) / 1000)}] ${line}\n`);
      const controller = new AbortController();
      const stop = abortOn(controller, ['SIGINT', 'SIGTERM'], (s) => say(`${s}: handing the current trial back and stopping`));
      try {
        say(`waiting for trials on ${options.queue} (folders in ${options.workDir})`);
        await runWorker({
          queue: { url: options.queue, ...(options.queueName ? { name: options.queueName } : {}) },
          runner: realTrialRunner({ progress: (label) => progressDisplay(`  ${label}`) }),
          workDir: options.workDir,
          signal: controller.signal,
          onEvent: (e) => {
            if (e.kind === 'start') say(`trial ${e.trialId}: ${e.resume ? 'resuming' : 'started'}`);
            else if (e.kind === 'done') say(`trial ${e.trialId}: done in ${formatDuration(e.seconds)}`);
            else if (e.kind === 'released') say(`trial ${e.trialId}: handed back to the queue`);
            else say(`trial ${e.trialId}: ${e.kind}: ${e.reason}`);
          },
        });
        say('stopped');
      } finally {
        stop();
      }
    });
}
