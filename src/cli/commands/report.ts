// `lethe report RUN... --out report.html`: results of one or more runs → one HTML page; a sweep
// folder (DIR with sweep.json) → its sweep sections beside the trials' tables.
import type { Command } from 'commander';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write an HTML report (tables and charts) comparing runs')
    .argument('<runs...>', 'run directories (results.json, optional log.jsonl), results.json files, or one sweep folder (sweep.json)')
    .option('-o, --out <file>', 'the HTML file to write', 'report.html')
    .action(async (runs: string[], options: { out: string }) => {
      const sweep = await import('../../pipeline/sweep/sweep-report.ts');
      if (runs.length === 1 && sweep.isSweepFolder(runs[0])) {
        // A sweep folder: its Pareto front, best trial per method, seed spread and sensitivity, beside the trials' tables.
        const { checkReplaceable, checkWritesOutsideInputs } = await import('../../io/paths.ts');
        checkWritesOutsideInputs({ path: options.out, flag: '--out' }, [{ path: `${runs[0]}/sweep.json`, what: 'the sweep file' }]);
        checkReplaceable(options.out, '--out', 'report');
        const w = await sweep.writeSweepReport(runs[0], options.out);
        const c = w.analysis.counts;
        process.stdout.write(`lethe: wrote ${w.out} (sweep ${w.analysis.name}: ${c.done}/${c.total} trials done, ${c.failed} failed; ${w.analysis.pareto.length} on the Pareto front)\n`);
        return;
      }
      // Lazy: the report code loads only when this command runs.
      const { writeReport } = await import('../../report/report.ts');
      const { checkReplaceable, checkWritesOutsideInputs } = await import('../../io/paths.ts');
      // The report must not replace a results file or log it reads.
      checkWritesOutsideInputs({ path: options.out, flag: '--out' }, runs.flatMap((r) => (/\.json$/i.test(r) ? [r] : ['results.json', 'log.jsonl'].map((f) => `${r}/${f}`))).map((path) => ({ path, what: 'the input' })));
      checkReplaceable(options.out, '--out', 'report');
      const written = await writeReport(runs, options.out);
      process.stdout.write(`lethe: wrote ${written.out} (${written.runs} run${written.runs === 1 ? '' : 's'})\n`);
    });
}
