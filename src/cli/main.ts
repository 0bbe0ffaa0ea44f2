// The `lethe` command line: thin commands that parse flags, validate them and call the same
// library functions that src/index.ts exports. Errors print one clear line and exit non-zero.
import { Command, CommanderError } from 'commander';
import { LetheError } from '../engine/errors.ts';
import { registerAttack } from './commands/attack.ts';
import { registerDemo } from './commands/demo.ts';
import { registerEval } from './commands/eval.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerReport } from './commands/report.ts';
import { registerSweep, registerWorker } from './commands/sweep.ts';
import { registerTrain } from './commands/train.ts';
import { registerUnlearn } from './commands/unlearn.ts';
import { LETHE_VERSION } from '../version.ts';
import { ignoreClosedOutput, resourceErrorLine } from '../io/fail-line.ts';

export function buildProgram(): Command {
  const program = new Command('lethe')
    .description('Make a language model forget what it should not know, and measure how well it forgot.')
    .version(LETHE_VERSION, '-v, --version', 'print the version')
    // A bad flag is one line on stderr, like every other input error.
    .configureOutput({ outputError: (message, write) => write(`lethe: ${message.replace(/^error: /, '').trim()}\n`) })
    .exitOverride();
  registerTrain(program);
  registerUnlearn(program);
  registerEval(program);
  registerAttack(program);
  registerGenerate(program);
  registerReport(program);
  registerSweep(program);
  registerWorker(program);
  registerDemo(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof LetheError) {
      process.stderr.write(`lethe: ${err.message}\n`);
      if (process.env.LETHE_DEBUG) process.stderr.write(`${err.stack}\n`); // where, for bug reports
      return err.exitCode;
    }
    // File-system and resource errors (EACCES, EROFS, ENOSPC, absurd sizes…): one line naming the path.
    const line = resourceErrorLine(err);
    if (line === null) throw err;
    process.stderr.write(`lethe: ${line}\n`);
    if (process.env.LETHE_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return 2;
  }
}

ignoreClosedOutput(); // `lethe … | head -1`: a closed pipe stops the printing, not the run
process.exitCode = await main(process.argv.slice(2));
