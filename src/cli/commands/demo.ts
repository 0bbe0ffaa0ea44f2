// `lethe demo [--out DIR] [--quick] [--fresh] [--case tofu|capability] [--seed S] [--seeds N]`:
// the whole pipeline on a built-in small case (train, unlearn with several methods, evaluate,
// attack, report). The work is in src/pipeline/demo/run-demo.ts (TOFU) and capability-demo.ts,
// loaded when the command runs.
import type { Command } from 'commander';
import { LetheError } from '../../engine/errors.ts';
import { formatDuration, progressDisplay } from '../progress.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the whole story on a small built-in case in minutes on a CPU (TOFU authors, or --case capability: a made-up technical domain): train, unlearn with several methods, evaluate, attack; writes report.html and summary.json')
    .option('-o, --out <dir>', 'folder for the runs, the report and summary.json', 'runs/demo')
    .option('--quick', 'tofu case: four of the eight methods and two prompt attacks on the same models; capability case: a smaller model', false)
    .option('--fresh', 'train the target and retain models again even when the folder holds them', false)
    .option('--case <name>', 'tofu (forget a fictitious author) or capability (forget a made-up technical domain, keep another: multiple-choice accuracy toward chance, then relearning)', 'tofu')
    .option('--seed <s>', 'tofu case: seeds the training of the target and retain models, the unlearning and the attacks (default 1)')
    .option('--seeds <n>', "tofu case: repeat each method's unlearning with N seeds (--seed, --seed + 1, …): mean ± sd and passes in k of N")
    .action(async (options: { out: string; quick: boolean; fresh: boolean; case: string; seed?: string; seeds?: string }) => {
      if (options.case !== 'tofu' && options.case !== 'capability') throw new LetheError(`--case: expected tofu or capability, got "${options.case}"`);
      if (options.case === 'capability' && (options.seed !== undefined || options.seeds !== undefined)) throw new LetheError('--seed/--seeds: only with --case tofu (the capability case has fixed seeds)');
      const demo = options.case === 'capability'
        ? (await import('../../pipeline/demo/capability-demo.ts')).capabilityDemo
        : (await import('../../pipeline/demo/run-demo.ts')).demo;
      const int = (flag: string, v: string | undefined, min: number) => {
        if (v === undefined) return undefined;
        if (!/^-?\d+$/.test(v.trim()) || Number(v) < min) throw new LetheError(`${flag}: expected an integer${min > -Infinity ? ` ≥ ${min}` : ''}, got ${JSON.stringify(v)}`);
        return Number(v);
      };
      const seed = int('--seed', options.seed, -Infinity);
      const seeds = int('--seeds', options.seeds, 1);
      const t0 = performance.now();
      const say = (line: string) => process.stdout.write(`lethe demo [${formatDuration((performance.now() - t0) / 1000)}] ${line}\n`);
      const outcome = await demo({ out: options.out, quick: options.quick === true, fresh: options.fresh === true, seed, seeds, say, progress: progressDisplay });
      process.stdout.write(`\n${outcome.table}\n\n${outcome.headline}\n`);
      say(`done: ${outcome.report} (open it in a browser) and ${outcome.summary}`);
    });
}
