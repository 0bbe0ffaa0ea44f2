// `lethe report RUN... --out report.html`: results of one or more runs → one HTML page.
import type { Command } from 'commander';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write an HTML report (tables and charts) comparing runs')
    .argument('<runs...>', 'run directories (results.json, optional log.jsonl) or results.json files')
    .option('-o, --out <file>', 'the HTML file to write', 'report.html')
    .action(async (runs: string[], options: { out: string }) => {
      // Lazy: the report code loads only when this command runs.
      const { writeReport } = await import('../../report/report.ts');
      const { checkWritesOutsideInputs } = await import('../../io/paths.ts');
      // The report must not replace a results file or log it reads.
      checkWritesOutsideInputs({ path: options.out, flag: '--out' }, runs.flatMap((r) => (/\.json$/i.test(r) ? [r] : ['results.json', 'log.jsonl'].map((f) => `${r}/${f}`))).map((path) => ({ path, what: 'the input' })));
      const written = await writeReport(runs, options.out);
      process.stdout.write(`lethe: wrote ${written.out} (${written.runs} run${written.runs === 1 ? '' : 's'})\n`);
    });
}
