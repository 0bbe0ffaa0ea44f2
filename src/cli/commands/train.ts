// `lethe train`: fine-tune a model or train a preset from scratch; for TOFU cases with a forget
// set, the target and the retain model. The work is in ../run-train.ts, loaded when the command runs.
import type { Command } from 'commander';
import { FORGET_SPLITS } from '../../pipeline/data-sources.ts';
import { flagLayer } from '../config.ts';
import { addTrainingFlags } from './training-flags.ts';

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description('fine-tune a model (--model) or train a preset from scratch (--preset); TOFU cases with a forget set make the target and the retain model')
    .option('--model <path>', 'the model to fine-tune (never written): a folder, a llama2.c .bin file or a Hub name org/name[@revision]')
    .option('--tokenizer <path>', 'with --model: tokenizer file or folder, when it is not beside the model')
    .option('--preset <name>', 'train from scratch: tiny, small, gpt2-124m (a tokenizer is trained on the text)')
    .option('--data <file>', 'training set: .jsonl question/answer items, or text with one document a line')
    .option('--tofu <split>', 'training set: a TOFU split (full, retain90, …)')
    .option('--forget-split <split>', `with --tofu full: also train the retain model without this split (${FORGET_SPLITS.join(', ')})`)
    .option('--tofu-authors <n>', 'a small TOFU case of N authors …')
    .option('--forget-authors <k>', '… K of them to forget: trains OUT/target and OUT/retain')
    .option('--vocab-size <n>', 'with --preset: size of the trained tokenizer (default 4096)')
    .option('--max-positions <n>', "with --preset: longest sequence (default: the preset's, raised to fit the data)");
  addTrainingFlags(command).action(async (_options: unknown, cmd: Command) => {
    const { trainCommand, TRAIN_PATHS } = await import('../run-train.ts');
    await trainCommand(flagLayer(cmd, TRAIN_PATHS), cmd.opts().config as string | undefined);
  });
}
