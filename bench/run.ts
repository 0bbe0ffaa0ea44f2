// `npm run bench -- [suite…] [--json] [--steps N] [--warmup N]`: runs the named suites (all by
// default) beside their PyTorch peers, prints a table per suite, then a summary; with --json the
// last line is one JSON object (the suite's own when one suite runs, else all of them).

import { Command } from 'commander';
import { LetheError } from '../src/engine/errors.ts';
import { benchEngine } from './engine.ts';
import { benchModel } from './model.ts';
import { benchUnlearn } from './unlearn.ts';
import { formatTable, type SuiteResult } from './util.ts';

type Suite = (opts: { steps: number; warmup: number; log: (s: string) => void }) => Promise<SuiteResult>;
const SUITES: Record<string, Suite> = { engine: benchEngine, model: benchModel, unlearn: benchUnlearn };

interface CaseJson { name: string; ratio: number; lethe?: number; peer?: number; unit?: string; lethe_gflops?: number; peer_gflops?: number }

/** One summary row per case of a suite (the engine suite reports GFLOP/s under its own keys). */
function summaryRows(r: SuiteResult): string[][] {
  const cases = (r.json.cases ?? []) as CaseJson[];
  return cases.map((c) => [r.suite, c.name, String(c.lethe ?? c.lethe_gflops), String(c.peer ?? c.peer_gflops), c.unit ?? 'GFLOP/s', String(c.ratio)]);
}

const program = new Command('bench')
  .argument('[suites...]', `suites to run: ${Object.keys(SUITES).join(', ')} (default all)`)
  .option('--json', 'print the result as one JSON object on the last line')
  .option('--steps <n>', 'timed steps per case', '10')
  .option('--warmup <n>', 'untimed steps per case first', '3')
  .action(async (names: string[], opts: { json?: boolean; steps: string; warmup: string }) => {
    const chosen = names.length ? names : Object.keys(SUITES);
    for (const n of chosen) if (!SUITES[n]) throw new LetheError(`unknown suite "${n}"; known: ${Object.keys(SUITES).join(', ')}`);
    const log = (s: string) => process.stderr.write(`${s}\n`);
    const results: SuiteResult[] = [];
    for (const n of chosen) {
      log(`── ${n} ──`);
      const r = await SUITES[n]({ steps: Number(opts.steps), warmup: Number(opts.warmup), log });
      results.push(r);
      console.log(`\n${n}\n${formatTable(r.table.head, r.table.rows)}\n${r.table.notes.join('\n')}\n`);
    }
    console.log('summary (ratio > 1: lethe faster than PyTorch, measured side by side)');
    console.log(formatTable(['suite', 'case', 'lethe', 'PyTorch', 'unit', 'ratio'], results.flatMap(summaryRows)));
    if (opts.json) console.log(JSON.stringify(results.length === 1 ? results[0].json : { suites: results.map((r) => r.json) }));
  });

try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (err) {
  if (err instanceof LetheError) {
    console.error(`bench: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
