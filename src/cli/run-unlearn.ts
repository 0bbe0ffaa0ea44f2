// `lethe unlearn`: a model folder, a method, a forget set and a retain set → RUN/model (the
// unlearned model, HF format), RUN/log.jsonl, RUN/config.yaml, RUN/checkpoints/. With
// `--eval-every N` small forget/retain probes are scored during training and the best step's
// weights are kept (score = retain Prob − forget Prob: forget less likely, retain as likely).

import { modelReadSource, openModel, resolveModelInput } from '../pipeline/model-source.ts';
import { checkOutsideModel } from '../pipeline/data-sources.ts';
import { runUnlearning } from '../pipeline/unlearning-run.ts';
import { formatSeedsFile, seedList, seedRunDir, SEEDS_FILE, unlearnSeeds } from '../pipeline/unlearning-seeds.ts';
import { unlearningInputs } from '../pipeline/unlearning-inputs.ts';
import { fileLayer, mergeLayers, parseLayers, writeResolvedConfig, type Layer } from './config.ts';
import { compileDisplay, downloadDisplay, progressDisplay } from './progress.ts';
import { onCompile } from '../engine/program.ts';
import { baseLayers, endOfRun, lastLogLine, checkResumeMatches, claimRunFolder, nothingToResume, readSources, runOptions } from './run-options.ts';
import { scopeLabel } from '../pipeline/options/scope.ts';
import { describeRun } from './summary.ts';
import { availableMemory } from '../io/memory.ts';
import { checkMemoryFits, describeEstimate, formatGb } from '../unlearn/memory-estimate.ts';
import { unlearningMemoryEstimate } from '../pipeline/unlearning-inputs.ts';

import { UNLEARN_PATHS, unlearnSchema, resolveUnlearnOptions } from '../pipeline/options/unlearn.ts';
import { keepsFloat32State, optimizerStateNotice } from '../pipeline/options/training.ts';

export { UNLEARN_PATHS, unlearnSchema, resolveUnlearnOptions, type UnlearnUserOptions, type ResolvedUnlearnOptions } from '../pipeline/options/unlearn.ts';

/** Runs `lethe unlearn` from its option layers (config file, flags). */
export async function unlearnCommand(flags: Layer, configFile?: string): Promise<void> {
  const file = configFile ? fileLayer(configFile, UNLEARN_PATHS) : null;
  const early = mergeLayers([...(file ? [file] : []), flags]).values;
  const user = parseLayers(unlearnSchema, [...baseLayers(early.out as string | undefined, early.resume === true, file), flags]);
  const resolved = resolveUnlearnOptions(user);
  // A Hub name becomes its folder in the Hub cache (downloaded first when online): the checks compare local paths.
  const source = await resolveModelInput(resolved.model, { onDownload: downloadDisplay(resolved.model) });
  checkOutsideModel(resolved.out, source.path);
  const inputs = [modelReadSource(source), ...readSources(resolved, UNLEARN_PATHS.filter((k) => k !== 'model'))];
  const seeds = resolved.seeds === undefined ? null : seedList(resolved.seed, resolved.seeds);

  // Frozen weights stay at the checkpoint's precision; the run widens what it trains (unlearn/run.ts).
  const { model: input, tokenizer } = await openModel(source, { tokenizer: resolved.tokenizer, precision: 'checkpoint' });
  const { template, forget, retain, idk, mcSides, method, scope } = unlearningInputs(resolved, input, tokenizer, (line) => process.stderr.write(`lethe unlearn: ${line}\n`));
  // The peak memory estimate, and a refusal before anything is written when it cannot fit.
  const estimate = unlearningMemoryEstimate(input, tokenizer, resolved, { method, forget, retain });
  const available = user.maxMemory !== undefined ? { bytes: user.maxMemory * 2 ** 30, source: '--max-memory' } : availableMemory();
  checkMemoryFits(estimate, available, scope, resolved.gradientCheckpointing === true, { lora: true, optimizerState: keepsFloat32State(resolved) });
  const fresh = nothingToResume(resolved.out, resolved.resume);
  await claimRunFolder(resolved.out, {
    resume: resolved.resume, overwrite: resolved.overwrite, runDirs: seeds ? seeds.map((k) => seedRunDir(resolved.out, k)) : [resolved.out],
    ...(seeds ? { extra: [SEEDS_FILE] } : {}), command: 'unlearn', inputs: [...inputs, ...(configFile ? [{ path: configFile, what: 'the --config file' }] : [])] });
  if (fresh) process.stderr.write(`lethe unlearn: ${fresh}\n`);
  const stateNotice = optimizerStateNotice(user, resolved);
  if (stateNotice) process.stderr.write(`lethe unlearn: ${stateNotice}\n`);
  // A resume refused for a changed setting is one line: checked before the estimate is printed.
  if (resolved.resume) checkResumeMatches(resolved.out, resolved);
  onCompile(compileDisplay('lethe unlearn'));
  process.stdout.write(`lethe unlearn: memory estimate ${describeEstimate(estimate)} at peak; ${formatGb(available.bytes)} of ${available.source}\n`);
  await writeResolvedConfig(resolved.out, 'unlearn', resolved);

  const options = {
    ...runOptions(resolved, forget.length),
    template,
    method,
    methodOptions: resolved.methodOptions,
    forget,
    retain,
    idk,
    scope,
    sam: resolved.sam !== undefined ? { rho: resolved.sam } : undefined,
    adversarial: resolved.adversarial,
    evalEvery: resolved.evalEvery,
    evalItems: resolved.evalItems,
    ...(mcSides ? { mcProbe: { sides: mcSides, options: { batchSize: resolved.batchSize, contextLength: resolved.contextLength, style: 'default' as const, numFewshot: 0, chat: template.name === 'chat' } } } : {}),
    keep: resolved.keep,
    ...(resolved.saveDtype ? { saveDtype: ({ f32: 'F32', bf16: 'BF16', f16: 'F16' } as const)[resolved.saveDtype] } : {}),
    progress: progressDisplay,
  };
  if (seeds) {
    const { file, path, results } = await unlearnSeeds(input, tokenizer, {
      ...options, out: resolved.out, seed: resolved.seed, seeds: seeds.length, config: resolved as unknown as Record<string, unknown>,
      onSeed: (r, u) => process.stdout.write(`lethe unlearn: seed ${r.seed}: ${describeRun(u.run.loop, r.loss === null ? null : { loss: r.loss })} → ${u.modelDir}${u.bestStep !== null ? ` (best step ${u.bestStep})` : ''}; probe ${Object.entries(r.probe).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(', ')}\n`),
    });
    process.stdout.write(`lethe unlearn: ${method.name} with ${seeds.length} seeds (${seeds[0]}…${seeds[seeds.length - 1]}), probe on the kept weights:\n${formatSeedsFile(file).map((l) => `  ${l}\n`).join('')}  → ${path}\n`);
    for (const u of results) endOfRun('unlearn', u.run.loop, u.modelDir);
    return;
  }
  const { run, modelDir, bestStep } = await runUnlearning(input, tokenizer, { ...options, runDir: resolved.out });
  const trainable = run.resolved.trainableParameters as number;
  process.stdout.write(
    `lethe unlearn: ${method.name} (scope ${scopeLabel(scope)}, ${trainable} trainable parameters): ${describeRun(run.loop, await lastLogLine(resolved.out))}` +
      ` → ${modelDir}${bestStep !== null ? ` (weights of the best step, ${bestStep})` : ''}\n`,
  );
  endOfRun('unlearn', run.loop, modelDir);
}
