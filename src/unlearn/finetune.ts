// Fine-tuning: the target model (everything), the retain model (without the forget set), and the
// relearning attack. Mean token NLL on the targets, the same batch schedule as unlearning.

import { LetheError } from '../engine/errors.ts';
import { Graph } from '../engine/graph.ts';
import { TrainStep } from '../engine/train-step.ts';
import { makeBatches, WHOLE_ITEMS_REMEDY } from '../data/batches.ts';
import type { PromptPair } from '../data/templates.ts';
import { Model, resolveContextLength } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { runLoop } from './loop.ts';
import { BatchSchedule, batchFeeds, batchTokens, scoredInputs } from './batch-schedule.ts';
import { batchCe } from './objective.ts';
import { loopOptions, toOptimizer, type RunOptions, type RunResult } from './run-options.ts';

/**
 * Fine-tunes every parameter of `input` on `opts.data` (prompt/target pairs; loss on target
 * tokens only). Returns a new model; the input is never modified. Throws LetheError when the
 * training set is empty.
 */
export async function finetune(input: Model, tokenizer: Tokenizer, opts: RunOptions & { data: PromptPair[] }): Promise<RunResult> {
  if (opts.data.length === 0) throw new LetheError('the training set is empty');
  const model = input;
  const ctx = resolveContextLength(model.config, opts.contextLength);
  const batches = makeBatches(tokenizer, opts.data, { batchSize: opts.batchSize, contextLength: ctx, order: 'given', overlongRemedy: WHOLE_ITEMS_REMEDY, promptSpecialTokens: opts.template.promptSpecialTokens, appendEos: opts.template.appendEos });
  const g = new Graph();
  const d = scoredInputs(g, 'data');
  const fwd = model.forward(g, d.ids, { training: true, gradientCheckpointing: opts.gradientCheckpointing });
  const loss = batchCe({ logits: fwd.logits, labels: d.labels, mask: d.mask });
  const names = [...fwd.params.keys()];
  const step = TrainStep.create({ loss, params: [...fwd.params.values()], data: [d.ids, d.labels, d.mask], optimizer: toOptimizer(opts.optimizer, opts.batchSize) }, model.params);
  const schedule = new BatchSchedule(batches.length, opts.epochs ?? 1, opts.accumulation ?? 1, opts.seed ?? 0);
  const pick = (k: number) => batches[schedule.batchOf(k)];
  // A LoRA model keeps its adapters' settings: without them its forward pass would ignore the
  // adapters (a relearning attack on a LoRA result then started from the base model).
  const current = () => new Model(model.config, new Map(names.map((n) => [n, step.get(n)])), model.lora, model.source);
  const loop = await runLoop(step, loopOptions(opts, schedule.steps), {
    ...schedule.hooks((k) => batchFeeds('data', pick(k)), (k) => batchTokens(pick(k))),
    evaluate: opts.evaluate ? (s) => opts.evaluate!(current(), s) : undefined,
    onProgress: opts.onProgress,
  });
  // The step's buffers become the output's weights: nothing writes them once it is disposed.
  await step.dispose();
  const out = current();
  return { model: out, loop, resolved: { steps: schedule.steps, batches: batches.length } };
}
