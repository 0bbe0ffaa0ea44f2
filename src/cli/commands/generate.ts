// `lethe generate --model DIR --prompt TEXT...`: completions of prompts by the model and tokenizer
// of a model folder (greedy unless a temperature is given). With one prompt the completion is
// printed as it is; with several, each on its own line prefixed by its number, "[1] ...".
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { LetheError } from '../../engine/errors.ts';
import type { GenerateOptions } from '../../models/generate.ts';

interface GenerateFlags {
  model: string;
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
    .requiredOption('--model <dir>', 'model folder (config.json, model.safetensors, tokenizer.json)')
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
      const { loadModel } = await import('../../models/load-model.ts');
      const { loadTokenizer } = await import('../../models/tokenizer/load-tokenizer.ts');
      const { generate } = await import('../../models/generate.ts');
      const model = await loadModel(flags.model);
      const dir = model.source?.dir ?? flags.model;
      if (!existsSync(join(dir, 'tokenizer.json'))) {
        throw new LetheError(`${dir}: no tokenizer.json; generation needs the model's tokenizer beside its weights`);
      }
      const tokenizer = loadTokenizer(dir);
      const completions = await generate(model, tokenizer, flags.prompt, options);
      const lines = completions.length === 1 ? completions : completions.map((c, i) => `[${i + 1}] ${c}`);
      process.stdout.write(lines.map((l) => `${l}\n`).join(''));
    });
}
