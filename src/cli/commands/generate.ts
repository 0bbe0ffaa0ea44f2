// `lethe generate --model PATH --prompt TEXT...`: completions of prompts by a model and its
// tokenizer (a folder, a llama2.c .bin checkpoint, or a Hub name org/name[@revision]; greedy
// unless a temperature is given). With one prompt the completion is
// printed as it is; with several, each on its own line prefixed by its number, "[1] ...".
import type { Command } from 'commander';
import { LetheError } from '../../engine/errors.ts';
import type { GenerateOptions } from '../../models/generate.ts';

interface GenerateFlags {
  model: string;
  tokenizer?: string;
  prompt: string[];
  maxNewTokens?: string;
  temperature?: string;
  topK?: string;
  topP?: string;
  stop: string[];
  seed?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function parseNumber(flag: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new LetheError(`${flag}: expected ${integer ? 'an integer' : 'a number'}, got "${value}"`);
  }
  return n;
}

/** The flags as library options (ranges are checked by generate itself). */
export function resolveGenerateFlags(flags: GenerateFlags): GenerateOptions {
  if (flags.prompt.length === 0) throw new LetheError('--prompt: give at least one prompt');
  return {
    maxNewTokens: parseNumber('--max-new-tokens', flags.maxNewTokens, true),
    temperature: parseNumber('--temperature', flags.temperature, false),
    topK: parseNumber('--top-k', flags.topK, true),
    topP: parseNumber('--top-p', flags.topP, false),
    seed: parseNumber('--seed', flags.seed, true),
    stop: flags.stop,
  };
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('print the completions of prompts by a model (greedy by default)')
    .requiredOption('--model <path>', 'a model folder (config.json, model.safetensors, tokenizer.json), a llama2.c .bin file (its tokenizer beside it) or a Hub name org/name[@revision]')
    .option('--tokenizer <path>', 'tokenizer file or folder, when it is not beside the model')
    .option('--prompt <text>', 'a prompt (repeat for several)', collect, [])
    .option('--max-new-tokens <n>', 'new tokens at most per prompt (default 128)')
    .option('--temperature <t>', 'sampling temperature; 0 is greedy (default 0)')
    .option('--top-k <k>', 'sample among the k most likely tokens')
    .option('--top-p <p>', 'nucleus sampling mass in (0, 1]')
    .option('--stop <s>', 'end a completion before this string (repeatable)', collect, [])
    .option('--seed <n>', 'sampling seed (default 0)')
    .action(async (flags: GenerateFlags) => {
      const options = resolveGenerateFlags(flags);
      // Lazy: the model code loads only when this command runs.
      const { openModel } = await import('../../pipeline/model-source.ts');
      const { downloadDisplay } = await import('../progress.ts');
      const { generate } = await import('../../models/generate.ts');
      const { model, tokenizer } = await openModel(flags.model, { tokenizer: flags.tokenizer, onDownload: downloadDisplay(flags.model), precision: 'checkpoint' });
      const completions = await generate(model, tokenizer, flags.prompt, options);
      const lines = completions.length === 1 ? completions : completions.map((c, i) => `[${i + 1}] ${c}`);
      process.stdout.write(lines.map((l) => `${l}\n`).join(''));
    });
}
