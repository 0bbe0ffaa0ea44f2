// The flags `lethe train` and `lethe unlearn` share: optimiser, schedule, batches, checkpoints.
// No defaults here: they are applied once, by the command's resolve function, so that a flag
// left out does not hide the config file's value.
import type { Command } from 'commander';

export function addTrainingFlags(command: Command): Command {
  return command
    .option('--epochs <n>', 'passes over the training (forget) set')
    .option('--batch-size <n>', 'items per micro-batch')
    .option('--accumulation <n>', 'micro-batches per optimiser step')
    .option('--lr <rate>', 'peak learning rate')
    .option('--schedule <kind>', 'learning-rate schedule after warm-up: constant, linear, cosine')
    .option('--warmup-steps <n>', 'linear warm-up in optimiser steps (overrides --warmup-epochs)')
    .option('--warmup-epochs <n>', 'linear warm-up in epochs (default 1)')
    .option('--weight-decay <x>', 'weight decay: decoupled for AdamW and Sophia (default 0.01), coupled for SGD as in torch (default 0)')
    .option('--max-grad-norm <x>', 'clip the global gradient norm to this (0: no clipping)')
    .option('--optimizer <name>', 'adamw, sophia or sgd')
    .option('--betas <b1,b2>', "AdamW's or Sophia's betas, e.g. 0.9,0.95")
    .option('--rho <x>', "Sophia's rho")
    .option('--momentum <x>', "SGD's momentum")
    .option('--nesterov', "SGD's Nesterov momentum (needs --momentum > 0)")
    .option('--seed <n>', 'seed of data order, initialisation and dropout')
    .option('--checkpoint-every <n>', 'save a resumable checkpoint every N steps (0: only at the end)')
    .option('--context-length <n>', "longest item in tokens (default: the model's)")
    .option('--gradient-checkpointing', "recompute each block's activations in the backward pass instead of keeping them: less memory, about 1/3 more time per step, same results")
    .option('--optimizer-state <dtype>', 'how the optimiser state (AdamW/Sophia moments, SGD momentum) is kept: f32 (default) or bf16, half the memory, rounded stochastically so it stays unbiased; the weights stay f32')
    .option('--template <name>', 'prompt template: auto (the chat template when the tokenizer has one), plain, chat')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--overwrite', 'start over in an --out that already holds a run')
    .option('--max-memory <GiB>', 'memory the run may use, in GiB (2^30 bytes; default: what the machine has available); a run estimated to need more is refused before it starts')
    .option('--config <file>', 'YAML file of options; flags override it')
    .option('-o, --out <dir>', 'run folder to write (required)');
}
