// `lethe train`: fine-tune a model folder (`--model`) or train a preset from scratch (`--preset`,
// with a byte-level BPE tokenizer trained on the training text), on a data file or TOFU. For a
// TOFU case with a forget set (`--tofu-authors N --forget-authors K`, or `--tofu full
// --forget-split forgetXX`) it trains both models evaluation needs: the target (everything)
// under OUT/target and the retain model (same recipe and seed, without the forget set) under
// OUT/retain.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePair } from '../data/batches.ts';
import { plainTemplate } from '../data/templates.ts';
import { createModel, type Model } from '../models/model.ts';
import { PRESETS, presetConfig } from '../models/presets.ts';
import { loadTokenizer } from '../models/tokenizer/load-tokenizer.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { trainTokenizer } from '../models/tokenizer/train-tokenizer.ts';
import { fileLayer, mergeLayers, parseLayers, writeResolvedConfig, type Layer } from './config.ts';
import { checkOutsideModel, pickTemplate } from '../pipeline/data-sources.ts';
import { modelReadSource, openModel, resolveModelInput, type ModelInput } from '../pipeline/model-source.ts';
import { trainRuns, trainingSets } from '../pipeline/train-run.ts';
import { downloadDisplay, progressDisplay } from './progress.ts';
import { baseLayers, endOfRun, lastLogLine, checkResumeMatches, claimRunFolder, readSources, runOptions } from './run-options.ts';
import { describeRun } from './summary.ts';

import { TRAIN_PATHS, trainSchema, resolveTrainOptions } from '../pipeline/options/train.ts';

export { TRAIN_PATHS, trainSchema, resolveTrainOptions, type TrainUserOptions, type ResolvedTrainOptions } from '../pipeline/options/train.ts';

const nextPowerOfTwo = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

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
  await claimRunFolder(resolved.out, { resume: resolved.resume, overwrite: resolved.overwrite, runDirs, command: 'train', extra: ['tokenizer'], inputs: [...inputs, ...(configFile ? [{ path: configFile, what: 'the --config file' }] : [])] });

  // Model, tokenizer and template: the given model's, or (preset) plain and a tokenizer trained on the text.
  const given = source ? await openModel(source, { tokenizer: resolved.tokenizer }) : null;
  const tokenizerDir = join(resolved.out, 'tokenizer');
  let tokenizer: Tokenizer | null = given ? given.tokenizer : null;
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
    const longest = Math.max(...sets[0].pairs.map((p) => encodePair(tok, p, template).ids.length));
    resolved.maxPositions ??= Math.max(PRESETS[resolved.preset as keyof typeof PRESETS].maxPositions, nextPowerOfTwo(longest));
  }

  if (resolved.resume) checkResumeMatches(resolved.out, resolved);
  if (trainedTokenizer) tokenizer.save(tokenizerDir);
  await writeResolvedConfig(resolved.out, 'train', resolved);

  const input: Model = given
    ? given.model
    : createModel(presetConfig(resolved.preset!, { vocabSize: tokenizer.vocabSize, eosTokenId: tokenizer.eosId ?? null, bosTokenId: tokenizer.bosId ?? null, maxPositions: resolved.maxPositions }), { seed: resolved.seed });
  const files = resolved.model ? undefined : {
    'tokenizer.json': await readFile(join(tokenizerDir, 'tokenizer.json'), 'utf8'),
    'tokenizer_config.json': await readFile(join(tokenizerDir, 'tokenizer_config.json'), 'utf8'),
  };

  await trainRuns(input, tokenizer, sets, {
    template, runDirs, files, progress: progressDisplay,
    options: (items) => runOptions(resolved, items),
    onDone: async (run) => {
      process.stdout.write(`lethe train: ${run.label}: ${describeRun(run.result.loop, await lastLogLine(run.runDir))} → ${run.modelDir}\n`);
      endOfRun('train', run.result.loop, run.modelDir);
    },
  });
  if (sets.length === 2) process.stdout.write(`lethe train: the target and retain models are in ${resolved.out}; evaluate with lethe eval --model ${join(resolved.out, 'target', 'model')} --retain-model ${join(resolved.out, 'retain', 'model')}\n`);
}
