// The options of a training run (`lethe train`): the schema and every default in one place.

import { z } from 'zod';
import { PRESETS } from '../../models/presets.ts';
import { FORGET_SPLITS } from '../data-sources.ts';
import { intIn, path, positiveInt } from './fields.ts';
import { MAX_TRAINED_VOCAB_SIZE } from '../../models/tokenizer/train-tokenizer.ts';

/** The smallest trained byte-level vocabulary: the 256 byte symbols and one special token. */
const MIN_TRAINED_VOCAB = 257;
const VOCAB_RANGE = `expected an integer from ${MIN_TRAINED_VOCAB} (special tokens + 256 byte symbols) to ${MAX_TRAINED_VOCAB_SIZE}`;
import { resolveTraining, trainingFields, type ResolvedTraining } from './training.ts';

export const TRAIN_PATHS = ['model', 'tokenizer', 'data', 'out'] as const;

export const trainSchema = z
  .strictObject({
    /** A model folder to fine-tune. */
    model: path().optional(),
    /** With --model: the tokenizer (file or folder) when it is not beside the model. */
    tokenizer: path().optional(),
    /** A preset to train from scratch (tiny, small, gpt2-124m). */
    preset: z.enum(Object.keys(PRESETS) as [string, ...string[]]).optional(),
    /** A data file: .jsonl question/answer items, or text with one document a line. */
    data: path().optional(),
    /** A TOFU split (full, retain90, …). */
    tofu: z.string().min(1).optional(),
    /** With tofu: full, also train the retain model without this forget split. */
    forgetSplit: z.enum(FORGET_SPLITS).optional(),
    /** A small TOFU case: this many authors … */
    tofuAuthors: positiveInt().optional(),
    /** … of which these are the forget set (target and retain models are trained). */
    forgetAuthors: positiveInt().optional(),
    /** Preset only: the trained tokenizer's size (default 4096). */
    vocabSize: intIn(MIN_TRAINED_VOCAB, MAX_TRAINED_VOCAB_SIZE, VOCAB_RANGE).optional(),
    /** Preset only: the longest sequence (default: the preset's, raised to fit the longest item). */
    maxPositions: positiveInt().optional(),
    ...trainingFields,
  })
  .superRefine((u, ctx) => {
    const issue = (message: string, key?: string) => ctx.addIssue({ code: 'custom', message, path: key ? [key] : [] });
    if ((u.model === undefined) === (u.preset === undefined)) issue('give either --model DIR (fine-tune a model) or --preset NAME (train one from scratch)');
    const sources = [u.data, u.tofu, u.tofuAuthors].filter((x) => x !== undefined).length;
    if (sources !== 1) issue('give one training set: --data FILE, --tofu SPLIT, or --tofu-authors N --forget-authors K');
    if ((u.tofuAuthors === undefined) !== (u.forgetAuthors === undefined)) issue(u.tofuAuthors === undefined ? 'needs --tofu-authors N (the authors of the case)' : 'needed with --tofu-authors (how many authors to forget)', u.tofuAuthors === undefined ? 'tofuAuthors' : 'forgetAuthors');
    if (u.forgetSplit !== undefined && u.tofu !== 'full') issue('only with --tofu full (the target trains on full, the retain model on the matching retain split)', 'forgetSplit');
    if (u.model === undefined && u.tokenizer !== undefined) issue('only with --model (a preset trains its own tokenizer)', 'tokenizer');
    if (u.preset === undefined && u.vocabSize !== undefined) issue('only with --preset (a model folder brings its tokenizer)', 'vocabSize');
    if (u.preset === undefined && u.maxPositions !== undefined) issue('only with --preset (a model folder brings its config)', 'maxPositions');
    if (u.preset !== undefined && u.maxMemory !== undefined) issue("only with --model (a preset's run is not estimated: its shapes are built in and small)", 'maxMemory');
  });

export type TrainUserOptions = z.infer<typeof trainSchema>;

export interface ResolvedTrainOptions extends ResolvedTraining {
  model?: string;
  tokenizer?: string;
  preset?: string;
  data?: string;
  tofu?: string;
  forgetSplit?: string;
  tofuAuthors?: number;
  forgetAuthors?: number;
  vocabSize?: number;
  maxPositions?: number;
}

/**
 * Every default of `lethe train`. Fine-tuning a model follows TOFU's recipe (AdamW, lr 1e-5,
 * 5 epochs, batch 4 × 4 accumulated, linear decay after one warm-up epoch, weight decay 0.01);
 * a preset trained from scratch needs a far larger rate and more passes (lr 1e-2 for tiny,
 * 3e-3 for small, 40 epochs, batch 8, cosine decay).
 */
export function resolveTrainOptions(user: TrainUserOptions): ResolvedTrainOptions {
  const fromScratch = user.preset !== undefined;
  const recipe = fromScratch
    ? { lr: user.preset === 'tiny' ? 1e-2 : 3e-3, epochs: 40, batchSize: 8, accumulation: 1, schedule: 'cosine' as const }
    : { lr: 1e-5, epochs: 5, batchSize: 4, accumulation: 4, schedule: 'linear' as const };
  return {
    ...(user.model !== undefined ? { model: user.model, ...(user.tokenizer !== undefined ? { tokenizer: user.tokenizer } : {}) } : { preset: user.preset }),
    ...(user.data !== undefined ? { data: user.data } : {}),
    ...(user.tofu !== undefined ? { tofu: user.tofu } : {}),
    ...(user.forgetSplit !== undefined ? { forgetSplit: user.forgetSplit } : {}),
    ...(user.tofuAuthors !== undefined ? { tofuAuthors: user.tofuAuthors, forgetAuthors: user.forgetAuthors } : {}),
    ...(fromScratch ? { vocabSize: user.vocabSize ?? 4096 } : {}),
    ...(user.maxPositions !== undefined ? { maxPositions: user.maxPositions } : {}),
    ...resolveTraining(user, recipe),
  };
}

