// `npm run bench -- [suite…] [--json] [--steps N] [--warmup N]`: runs the named suites (engine,
// model and unlearn by default; `scale`, the real-size one, only when named) beside their PyTorch
// peers, prints a table per suite, then a summary; with --json the last line is one JSON object
// (the suite's own when one suite runs, else all of them). `scale` also takes --case NAME
// (repeatable), --tiny (a few-MB model of the same structure: a smoke run), --lora-dropout P and
// --keep (keep its checkpoints in the temp folder for the next run).

import { Command, CommanderError } from 'commander';
import { LetheError } from '../src/engine/errors.ts';
import { benchEngine } from './engine.ts';
import { benchModel } from './model.ts';
import { benchScale } from './scale.ts';
import { benchUnlearn } from './unlearn.ts';
import { formatTable, type SuiteResult } from './util.ts';

interface CliOptions {
  json?: boolean;
  steps?: string;
  warmup?: string;
  case?: string[];
  tiny?: boolean;
  keep?: boolean;
  gradientCheckpointing?: boolean;
  optimizerState?: string;
  loraDropout?: string;
}
type Suite = (opts: { steps: number; warmup: number; log: (s: string) => void }, cli: CliOptions) => Promise<SuiteResult>;
const SUITES: Record<string, Suite> = {
  engine: benchEngine,
  model: benchModel,
  unlearn: benchUnlearn,
  scale: (o, cli) => benchScale({ ...o, cases: cli.case, tiny: cli.tiny, keep: cli.keep, loraDropout: cli.loraDropout === undefined ? undefined : Number(cli.loraDropout), gradientCheckpointing: cli.gradientCheckpointing, optimizerState: optimizerStateOf(cli.optimizerState) }),
};
function optimizerStateOf(v: string | undefined): 'f32' | 'bf16' | undefined {
  if (v !== undefined && v !== 'f32' && v !== 'bf16') throw new LetheError(`--optimizer-state: expected one of f32, bf16, got "${v}"`);
  return v;
}
const DEFAULT_SUITES = ['engine', 'model', 'unlearn'];
/** Timed and warm-up steps when not given: the scale suite's steps take seconds to a minute each. */
const DEFAULT_STEPS: Record<string, [number, number]> = { scale: [2, 1] };

interface CaseJson { name: string; ratio: number | null; lethe?: number; peer?: number; unit?: string; lethe_gflops?: number; peer_gflops?: number }

/** One summary row per case of a suite (the engine suite reports GFLOP/s under its own keys). */
function summaryRows(r: SuiteResult): string[][] {
  const cases = (r.json.cases ?? []) as CaseJson[];
  return cases.map((c) => [r.suite, c.name, String(c.lethe ?? c.lethe_gflops), String(c.peer ?? c.peer_gflops), c.unit ?? 'GFLOP/s', String(c.ratio)]);
}

const program = new Command('bench')
  .argument('[suites...]', `suites to run: ${Object.keys(SUITES).join(', ')} (default ${DEFAULT_SUITES.join(', ')})`)
  .option('--json', 'print the result as one JSON object on the last line')
  .option('--steps <n>', 'timed steps per case (default 10; scale 2)')
  .option('--warmup <n>', 'untimed steps per case first (default 3; scale 1)')
  .option('--case <name>', 'scale: run only this case (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
  .option('--tiny', 'scale: every case on a few-MB model of the same structure (a smoke run)')
  .option('--keep', 'scale: keep the checkpoints in the temp folder for the next run')
  .option('--gradient-checkpointing', 'scale: the training cases recompute activations in the backward pass, both sides')
  .option('--optimizer-state <dtype>', 'scale: the training cases keep the AdamW moments in f32 (default) or bf16, both sides')
  .option('--lora-dropout <p>', 'scale: LoRA dropout of the LoRA case, both sides (default 0.05)')
  .action(async (names: string[], opts: CliOptions) => {
    const chosen = names.length ? names : DEFAULT_SUITES;
    for (const n of chosen) if (!SUITES[n]) throw new LetheError(`unknown suite "${n}"; known: ${Object.keys(SUITES).join(', ')}`);
    const log = (s: string) => process.stderr.write(`${s}\n`);
    const results: SuiteResult[] = [];
    for (const n of chosen) {
      log(`── ${n} ──`);
      const [steps, warmup] = DEFAULT_STEPS[n] ?? [10, 3];
      const r = await SUITES[n]({ steps: opts.steps === undefined ? steps : Number(opts.steps), warmup: opts.warmup === undefined ? warmup : Number(opts.warmup), log }, opts);
      results.push(r);
      console.log(`\n${n}\n${formatTable(r.table.head, r.table.rows)}\n${r.table.notes.join('\n')}\n`);
    }
    console.log('summary (ratio > 1: lethe faster than PyTorch, measured side by side)');
    console.log(formatTable(['suite', 'case', 'lethe', 'PyTorch', 'unit', 'ratio'], results.flatMap(summaryRows)));
    if (opts.json) console.log(JSON.stringify(results.length === 1 ? results[0].json : { suites: results.map((r) => r.json) }));
  });

// Bad flags are exit 2, as in the lethe command (commander's own default is 1).
program.exitOverride();
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof LetheError) {
    console.error(`bench: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
