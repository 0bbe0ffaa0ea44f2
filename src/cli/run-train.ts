// `lethe train`: fine-tune a model folder (`--model`) or train a preset from scratch (`--preset`,
// with a byte-level BPE tokenizer trained on the training text), on a data file or TOFU. For a
// TOFU case with a forget set (`--tofu-authors N --forget-authors K`, or `--tofu full
// --forget-split forgetXX`) it trains both models evaluation needs: the target (everything)
// under OUT/target and the retain model (same recipe and seed, without the forget set) under
// OUT/retain.

import { join } from 'node:path';
import { plainTemplate } from '../data/templates.ts';
import { fileLayer, mergeLayers, parseLayers, writeResolvedConfig, type Layer } from './config.ts';
import { checkOutsideModel, pickTemplate } from '../pipeline/data-sources.ts';
import { modelReadSource, openModel, resolveModelInput, type ModelInput } from '../pipeline/model-source.ts';
import { presetModel, presetTokenizer, trainingMemoryEstimate, trainRuns, trainingSets } from '../pipeline/train-run.ts';
import { availableMemory } from '../io/memory.ts';
import { checkMemoryFits, describeEstimate, formatGb } from '../unlearn/memory-estimate.ts';
import { compileDisplay, downloadDisplay, progressDisplay } from './progress.ts';
import { onCompile } from '../engine/program.ts';
import { baseLayers, endOfRun, lastLogLine, checkResumeMatches, claimRunFolder, nothingToResume, readSources, runOptions } from './run-options.ts';
import { describeRun } from './summary.ts';

import { TRAIN_PATHS, trainSchema, resolveTrainOptions } from '../pipeline/options/train.ts';
import { keepsFloat32State, optimizerStateNotice } from '../pipeline/options/training.ts';

export { TRAIN_PATHS, trainSchema, resolveTrainOptions, type TrainUserOptions, type ResolvedTrainOptions } from '../pipeline/options/train.ts';

/** Runs `lethe train` from its option layers (config file, flags). */
export async function trainCommand(flags: Layer, configFile?: string): Promise<void> {
  const file = configFile ? fileLayer(configFile, TRAIN_PATHS) : null;
  const early = mergeLayers([...(file ? [file] : []), flags]).values;
  const user = parseLayers(trainSchema, [...baseLayers(early.out as string | undefined, early.resume === true, file), flags]);
  const resolved = resolveTrainOptions(user);
  const twoModels = resolved.tofuAuthors !== undefined || resolved.forgetSplit !== undefined;
  const runDirs = twoModels ? [join(resolved.out, 'target'), join(resolved.out, 'retain')] : [resolved.out];
  // A Hub name becomes its folder in the Hub cache (downloaded first when online): the checks compare local paths.
  const source: ModelInput | null = resolved.model ? await resolveModelInput(resolved.model, { onDownload: downloadDisplay(resolved.model) }) : null;
  if (source) for (const d of [resolved.out, ...runDirs]) checkOutsideModel(d, source.path);
  const inputs = [...(source ? [modelReadSource(source)] : []), ...readSources(resolved, TRAIN_PATHS.filter((k) => k !== 'model'))];
  // Model, template and data first: a bad file or a run that cannot fit is refused before anything is written.
  const given = source ? await openModel(source, { tokenizer: resolved.tokenizer }) : null;
  const template = given ? pickTemplate(resolved.template, given.tokenizer) : plainTemplate();
  const sets = trainingSets(resolved, template);
  // Fine-tuning a model: the peak memory estimate, and a refusal when it cannot fit (a preset's
  // size is known and small: not estimated).
  let estimateLine: string | null = null;
  if (given) {
    const estimate = trainingMemoryEstimate(given.model, given.tokenizer, resolved, sets, template);
    const available = user.maxMemory !== undefined ? { bytes: user.maxMemory * 2 ** 30, source: '--max-memory' } : availableMemory();
    checkMemoryFits(estimate, available, { kind: 'all' }, resolved.gradientCheckpointing === true, { lora: false, optimizerState: keepsFloat32State(resolved) });
    estimateLine = `lethe train: memory estimate ${describeEstimate(estimate)} at peak; ${formatGb(available.bytes)} of ${available.source}\n`;
  }
  const fresh = nothingToResume(resolved.out, resolved.resume);
  await claimRunFolder(resolved.out, { resume: resolved.resume, overwrite: resolved.overwrite, runDirs, command: 'train', extra: ['tokenizer'], inputs: [...inputs, ...(configFile ? [{ path: configFile, what: 'the --config file' }] : [])] });
  if (fresh) process.stderr.write(`lethe train: ${fresh}\n`);
  const stateNotice = optimizerStateNotice(user, resolved);
  if (stateNotice) process.stderr.write(`lethe train: ${stateNotice}\n`);

  // Tokenizer: the given model's, or (preset) one trained on the text.
  const tokenizerDir = join(resolved.out, 'tokenizer');
  const { tokenizer, trained } = given ? { tokenizer: given.tokenizer, trained: false } : presetTokenizer(resolved, sets[0], template, tokenizerDir);

  if (resolved.resume) checkResumeMatches(resolved.out, resolved);
  if (estimateLine) process.stdout.write(estimateLine);
  if (trained) tokenizer.save(tokenizerDir);
  await writeResolvedConfig(resolved.out, 'train', resolved);
  const { model: input, files } = given ? { model: given.model, files: undefined } : await presetModel(resolved, tokenizer, tokenizerDir);

  onCompile(compileDisplay('lethe train'));
  await trainRuns(input, tokenizer, sets, {
    template, runDirs, files, progress: progressDisplay,
    options: (items) => runOptions(resolved, items),
    onDone: async (run) => {
      process.stdout.write(`lethe train: ${run.label === 'train' ? '' : `${run.label}: `}${describeRun(run.result.loop, await lastLogLine(run.runDir))} → ${run.modelDir}\n`);
      endOfRun('train', run.result.loop, run.modelDir);
    },
  });
  if (sets.length === 2) process.stdout.write(`lethe train: the target and retain models are in ${resolved.out}; evaluate with lethe eval --model ${join(resolved.out, 'target', 'model')} --retain-model ${join(resolved.out, 'retain', 'model')}\n`);
}
