// Training runs as `lethe train` makes them: one model on a data set, or for a TOFU case with a
// forget set both models evaluation needs, the target (everything) under OUT/target and the
// retain model (same recipe and seed, without the forget set) under OUT/retain, each saved as
// an HF folder RUN/model.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeItems, encodePair, WHOLE_ITEMS_REMEDY } from '../data/batches.ts';
import { createModel, resolveContextLength } from '../models/model.ts';
import { PRESETS, presetConfig } from '../models/presets.ts';
import { loadTokenizer } from '../models/tokenizer/load-tokenizer.ts';
import { trainTokenizer } from '../models/tokenizer/train-tokenizer.ts';
import type { ResolvedTrainOptions } from './options/train.ts';
import { optimizerChoice } from './options/training.ts';
import { templatePairs, type PromptPair, type PromptTemplate } from '../data/templates.ts';
import { type Model } from '../models/model.ts';
import { saveModel } from '../models/save-model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { finetune } from '../unlearn/finetune.ts';
import { estimateRunMemory, processMemory, type MemoryEstimate } from '../unlearn/memory-estimate.ts';
import type { RunOptions, RunResult } from '../unlearn/run-options.ts';
import { pairsFromFile, retainSplitFor, tofuItems, tofuSubset } from './data-sources.ts';
import { silentProgress, withProgress, type ProgressFactory } from './progress.ts';

/** Where a training set comes from: a data file, a TOFU split (with a forget split: two models), or a TOFU author case. */
export interface TrainingData {
  data?: string;
  tofu?: string;
  forgetSplit?: string;
  tofuAuthors?: number;
  forgetAuthors?: number;
}

export interface TrainingSet {
  /** 'target' / 'retain' for a TOFU case with a forget set; null for a single model. */
  role: 'target' | 'retain' | null;
  pairs: PromptPair[];
}

export function trainingSets(r: TrainingData, template: PromptTemplate): TrainingSet[] {
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

export interface TrainedRun {
  label: string;
  runDir: string;
  modelDir: string;
  result: RunResult;
}

/**
 * Fine-tunes `input` on each set into its run folder (`runDirs[i]`) and saves RUN/model (with
 * `files`, e.g. the tokenizer's, copied in). `options(items)` gives a set's run options.
 */
export async function trainRuns(
  input: Model,
  tokenizer: Tokenizer,
  sets: readonly TrainingSet[],
  opts: { template: PromptTemplate; runDirs: readonly string[]; options: (items: number) => Omit<RunOptions, 'template' | 'runDir'>; files?: Record<string, string>; progress?: ProgressFactory; onDone?: (run: TrainedRun) => Promise<void> | void },
): Promise<TrainedRun[]> {
  const runs: TrainedRun[] = [];
  for (const [i, set] of sets.entries()) {
    const runDir = opts.runDirs[i];
    const label = set.role ?? 'train';
    const result = await withProgress(opts.progress ?? silentProgress, label, (onProgress) =>
      finetune(input, tokenizer, { ...opts.options(set.pairs.length), data: set.pairs, template: opts.template, runDir, onProgress }));
    const modelDir = join(runDir, 'model');
    await saveModel(result.model, modelDir, { files: opts.files });
    const run = { label, runDir, modelDir, result };
    runs.push(run);
    await opts.onDone?.(run);
  }
  return runs;
}

const nextPowerOfTwo = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/**
 * A preset run's tokenizer: when resuming, the one saved in `tokenizerDir`; else a byte-level BPE
 * of `resolved.vocabSize` trained on the first set's text (`trained`: the caller saves it).
 * Sets `resolved.maxPositions`, when not given, to the preset's, raised to the power of two that
 * fits the longest item.
 */
export function presetTokenizer(resolved: ResolvedTrainOptions, set: TrainingSet, template: PromptTemplate, tokenizerDir: string): { tokenizer: Tokenizer; trained: boolean } {
  const resumed = resolved.resume && existsSync(join(tokenizerDir, 'tokenizer.json'));
  const tokenizer = resumed ? loadTokenizer(tokenizerDir) : trainTokenizer(set.pairs.map((p) => p.prompt + p.target), { vocabSize: resolved.vocabSize! });
  // A loop, not Math.max(...): a spread of 10^5 lengths overflows the call stack.
  let longest = 0;
  for (const p of set.pairs) longest = Math.max(longest, encodePair(tokenizer, p, template).ids.length);
  resolved.maxPositions ??= Math.max(PRESETS[resolved.preset as keyof typeof PRESETS].maxPositions, nextPowerOfTwo(longest));
  return { tokenizer, trained: !resumed };
}

/** A new model of `resolved.preset` for `tokenizer` (seeded by `resolved.seed`), and the tokenizer files saved in `tokenizerDir`, to go beside it. */
export async function presetModel(resolved: ResolvedTrainOptions, tokenizer: Tokenizer, tokenizerDir: string): Promise<{ model: Model; files: Record<string, string> }> {
  const model = createModel(presetConfig(resolved.preset!, { vocabSize: tokenizer.vocabSize, eosTokenId: tokenizer.eosId ?? null, bosTokenId: tokenizer.bosId ?? null, maxPositions: resolved.maxPositions }), { seed: resolved.seed });
  const files = {
    'tokenizer.json': await readFile(join(tokenizerDir, 'tokenizer.json'), 'utf8'),
    'tokenizer_config.json': await readFile(join(tokenizerDir, 'tokenizer_config.json'), 'utf8'),
  };
  return { model, files };
}

/**
 * The peak-memory estimate of fine-tuning `model` on `sets` with `resolved`'s settings
 * (unlearn/memory-estimate.ts: every parameter trained in float32, one differentiated pass, the
 * head slice by slice), from the longest item. The items are encoded as the run will encode
 * them, so what the run would refuse (a context length beyond the model's, an item longer than
 * the context) is refused here, before anything is written: LetheError naming the file and line.
 */
export function trainingMemoryEstimate(model: Model, tokenizer: Tokenizer, resolved: ResolvedTrainOptions, sets: readonly TrainingSet[], template: PromptTemplate): MemoryEstimate {
  const context = resolveContextLength(model.config, resolved.contextLength);
  let longest = 1;
  for (const set of sets) {
    const { encoded } = encodeItems(tokenizer, set.pairs, { contextLength: context, overlongRemedy: WHOLE_ITEMS_REMEDY, promptSpecialTokens: template.promptSpecialTokens, appendEos: template.appendEos });
    for (const item of encoded) longest = Math.max(longest, item.ids.length);
  }
  return estimateRunMemory(model, {
    scope: { kind: 'all' },
    optimizer: optimizerChoice(resolved),
    batchSize: resolved.batchSize,
    seqLength: longest,
    passes: 1,
    gradientCheckpointing: resolved.gradientCheckpointing === true,
    fullLogits: false,
  }, processMemory());
}
