// `lethe train`: fine-tune a model folder (`--model`) or train a preset from scratch (`--preset`,
// with a byte-level BPE tokenizer trained on the training text), on a data file or TOFU. For a
// TOFU case with a forget set (`--tofu-authors N --forget-authors K`, or `--tofu full
// --forget-split forgetXX`) it trains both models evaluation needs: the target (everything)
// under OUT/target and the retain model (same recipe and seed, without the forget set) under
// OUT/retain.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { plainTemplate, templatePairs, type PromptPair, type PromptTemplate } from '../data/templates.ts';
import { loadModel } from '../models/load-model.ts';
import { createModel, type Model } from '../models/model.ts';
import { PRESETS, presetConfig } from '../models/presets.ts';
import { saveModel } from '../models/save-model.ts';
import { loadTokenizer } from '../models/tokenizer/load-tokenizer.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { trainTokenizer } from '../models/tokenizer/train-tokenizer.ts';
import { finetune } from '../unlearn/finetune.ts';
import { fileLayer, mergeLayers, parseLayers, path, positiveInt, writeResolvedConfig, type Layer } from './config.ts';
import { checkOutsideModel, pairsFromFile, pickTemplate, retainSplitFor, tofuItems, tofuSubset } from '../pipeline/data-sources.ts';
import { progressDisplay } from './progress.ts';
import { baseLayers, lastLogLine, checkResumeMatches, claimRunFolder, resolveTraining, runOptions, trainingFields, type ResolvedTraining } from './run-options.ts';
import { describeRun } from './summary.ts';

export const TRAIN_PATHS = ['model', 'data', 'out'] as const;

export const trainSchema = z
  .strictObject({
    /** A model folder to fine-tune. */
    model: path().optional(),
    /** A preset to train from scratch (tiny, small, gpt2-124m). */
    preset: z.enum(Object.keys(PRESETS) as [string, ...string[]]).optional(),
    /** A data file: .jsonl question/answer items, or text with one document a line. */
    data: path().optional(),
    /** A TOFU split (full, retain90, …). */
    tofu: z.string().min(1).optional(),
    /** With tofu: full, also train the retain model without this forget split. */
    forgetSplit: z.enum(['forget01', 'forget05', 'forget10']).optional(),
    /** A small TOFU case: this many authors … */
    tofuAuthors: positiveInt().optional(),
    /** … of which these are the forget set (target and retain models are trained). */
    forgetAuthors: positiveInt().optional(),
    /** Preset only: the trained tokenizer's size (default 4096). */
    vocabSize: positiveInt().optional(),
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
    if (u.preset === undefined && u.vocabSize !== undefined) issue('only with --preset (a model folder brings its tokenizer)', 'vocabSize');
    if (u.preset === undefined && u.maxPositions !== undefined) issue('only with --preset (a model folder brings its config)', 'maxPositions');
  });

export type TrainUserOptions = z.infer<typeof trainSchema>;

export interface ResolvedTrainOptions extends ResolvedTraining {
  model?: string;
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
    ...(user.model !== undefined ? { model: user.model } : { preset: user.preset }),
    ...(user.data !== undefined ? { data: user.data } : {}),
    ...(user.tofu !== undefined ? { tofu: user.tofu } : {}),
    ...(user.forgetSplit !== undefined ? { forgetSplit: user.forgetSplit } : {}),
    ...(user.tofuAuthors !== undefined ? { tofuAuthors: user.tofuAuthors, forgetAuthors: user.forgetAuthors } : {}),
    ...(fromScratch ? { vocabSize: user.vocabSize ?? 4096 } : {}),
    ...(user.maxPositions !== undefined ? { maxPositions: user.maxPositions } : {}),
    ...resolveTraining(user, recipe),
  };
}

interface TrainingSet {
  /** 'target' / 'retain' for a TOFU case with a forget set; null for a single model. */
  role: 'target' | 'retain' | null;
  pairs: PromptPair[];
}

function trainingSets(r: ResolvedTrainOptions, template: PromptTemplate): TrainingSet[] {
  if (r.data !== undefined) return [{ role: null, pairs: pairsFromFile(r.data, template) }];
  if (r.tofuAuthors !== undefined) {
    const subset = tofuSubset(r.tofuAuthors, r.forgetAuthors!);
    const retain = templatePairs(template, subset.retainSet);
    return [
      { role: 'target', pairs: [...retain, ...templatePairs(template, subset.forgetSet)] },
      { role: 'retain', pairs: retain },
    ];
  }
  const all = templatePairs(template, tofuItems(r.tofu!));
  if (r.forgetSplit === undefined) return [{ role: null, pairs: all }];
  return [
    { role: 'target', pairs: all },
    { role: 'retain', pairs: templatePairs(template, tofuItems(retainSplitFor(r.forgetSplit))) },
  ];
}

const nextPowerOfTwo = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** Runs `lethe train` from its option layers (config file, flags). */
export async function trainCommand(flags: Layer, configFile?: string): Promise<void> {
  const file = configFile ? fileLayer(configFile, TRAIN_PATHS) : null;
  const early = mergeLayers([...(file ? [file] : []), flags]).values;
  const user = parseLayers(trainSchema, [...baseLayers(early.out as string | undefined, early.resume === true, file), flags]);
  const resolved = resolveTrainOptions(user);
  const twoModels = resolved.tofuAuthors !== undefined || resolved.forgetSplit !== undefined;
  const runDirs = twoModels ? [join(resolved.out, 'target'), join(resolved.out, 'retain')] : [resolved.out];
  if (resolved.model) for (const d of [resolved.out, ...runDirs]) checkOutsideModel(d, resolved.model);
  await claimRunFolder(resolved.out, { resume: resolved.resume, overwrite: resolved.overwrite, runDirs });

  // Tokenizer and template: the model folder's, or (preset) plain and a tokenizer trained on the text.
  const tokenizerDir = join(resolved.out, 'tokenizer');
  let tokenizer: Tokenizer | null = resolved.model ? loadTokenizer(resolved.model) : null;
  const template = tokenizer ? pickTemplate(resolved.template, tokenizer) : plainTemplate();
  const sets = trainingSets(resolved, template);
  let trainedTokenizer = false;
  if (!tokenizer) {
    if (resolved.resume && existsSync(join(tokenizerDir, 'tokenizer.json'))) tokenizer = loadTokenizer(tokenizerDir);
    else {
      tokenizer = trainTokenizer(sets[0].pairs.map((p) => p.prompt + p.target), { vocabSize: resolved.vocabSize! });
      trainedTokenizer = true;
    }
    const tok = tokenizer;
    const longest = Math.max(...sets[0].pairs.map((p) => tok.encode(p.prompt).length + tok.encode(p.target, { addSpecialTokens: false }).length + 1));
    resolved.maxPositions ??= Math.max(PRESETS[resolved.preset as keyof typeof PRESETS].maxPositions, nextPowerOfTwo(longest));
  }

  if (resolved.resume) checkResumeMatches(resolved.out, resolved);
  if (trainedTokenizer) tokenizer.save(tokenizerDir);
  await writeResolvedConfig(resolved.out, 'train', resolved);

  const input: Model = resolved.model
    ? await loadModel(resolved.model)
    : createModel(presetConfig(resolved.preset!, { vocabSize: tokenizer.vocabSize, eosTokenId: tokenizer.eosId ?? null, bosTokenId: tokenizer.bosId ?? null, maxPositions: resolved.maxPositions }), { seed: resolved.seed });
  const files = resolved.model ? undefined : {
    'tokenizer.json': await readFile(join(tokenizerDir, 'tokenizer.json'), 'utf8'),
    'tokenizer_config.json': await readFile(join(tokenizerDir, 'tokenizer_config.json'), 'utf8'),
  };

  for (const [i, set] of sets.entries()) {
    const runDir = runDirs[i];
    const label = set.role ?? 'train';
    const display = progressDisplay(label);
    let result;
    try {
      result = await finetune(input, tokenizer, { ...runOptions(resolved, set.pairs.length), data: set.pairs, template, runDir, onProgress: (p) => display.update(p) });
    } finally {
      display.stop();
    }
    const modelDir = join(runDir, 'model');
    await saveModel(result.model, modelDir, { files });
    process.stdout.write(`lethe train: ${label}: ${describeRun(result.loop, await lastLogLine(runDir))} → ${modelDir}\n`);
  }
  if (sets.length === 2) process.stdout.write(`lethe train: the target and retain models are in ${resolved.out}; evaluate with lethe eval --model ${join(resolved.out, 'target', 'model')} --retain-model ${join(resolved.out, 'retain', 'model')}\n`);
}
