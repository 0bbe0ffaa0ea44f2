// `lethe unlearn`: a model folder, a method, a forget set and a retain set → RUN/model (the
// unlearned model, HF format), RUN/log.jsonl, RUN/config.yaml, RUN/checkpoints/. With
// `--eval-every N` small forget/retain probes are scored during training and the best step's
// weights are kept (score = retain Prob − forget Prob: forget less likely, retain as likely).

import { loadTofuIdk } from '../data/tofu.ts';
import { loadModel } from '../models/load-model.ts';
import { loadTokenizer } from '../models/tokenizer/load-tokenizer.ts';
import { readMcSides } from '../pipeline/eval-mc.ts';
import { checkOutsideModel, pickTemplate, readIdk, unlearningSets } from '../pipeline/data-sources.ts';
import { runUnlearning } from '../pipeline/unlearning-run.ts';
import { getMethod, methodOptions } from '../unlearn/methods/index.ts';
import { type ScopeOptions } from '../unlearn/scope.ts';
import { fileLayer, mergeLayers, parseLayers, writeResolvedConfig, type Layer } from './config.ts';
import { progressDisplay } from './progress.ts';
import { baseLayers, endOfRun, lastLogLine, checkResumeMatches, claimRunFolder, readSources, runOptions } from './run-options.ts';
import { scopeLabel } from '../pipeline/options/scope.ts';
import { describeRun } from './summary.ts';

import { UNLEARN_PATHS, unlearnSchema, resolveUnlearnOptions } from '../pipeline/options/unlearn.ts';

export { UNLEARN_PATHS, unlearnSchema, resolveUnlearnOptions, type UnlearnUserOptions, type ResolvedUnlearnOptions } from '../pipeline/options/unlearn.ts';

/** Runs `lethe unlearn` from its option layers (config file, flags). */
export async function unlearnCommand(flags: Layer, configFile?: string): Promise<void> {
  const file = configFile ? fileLayer(configFile, UNLEARN_PATHS) : null;
  const early = mergeLayers([...(file ? [file] : []), flags]).values;
  const user = parseLayers(unlearnSchema, [...baseLayers(early.out as string | undefined, early.resume === true, file), flags]);
  const resolved = resolveUnlearnOptions(user);
  checkOutsideModel(resolved.out, resolved.model);
  await claimRunFolder(resolved.out, { resume: resolved.resume, overwrite: resolved.overwrite, runDirs: [resolved.out], command: 'unlearn', inputs: [...readSources(resolved, UNLEARN_PATHS), ...(configFile ? [{ path: configFile, what: 'the --config file' }] : [])] });

  const tokenizer = loadTokenizer(resolved.model);
  const template = pickTemplate(resolved.template, tokenizer);
  const { forget, retain } = unlearningSets(resolved, template);
  // Read (and checked) before anything is written: a malformed file is one line naming file:line.
  const mcSides = resolved.probe === 'mc' ? readMcSides(resolved.forgetMc ?? [], resolved.retainMc ?? []) : null;
  const idk = resolved.idk ? readIdk(resolved.idk) : loadTofuIdk();
  const input = await loadModel(resolved.model);
  // Options and scope made concrete for this model (e.g. RMU's middle block and its down-projections).
  const method = getMethod(resolved.method);
  if (method.resolve) resolved.methodOptions = method.resolve(methodOptions(method, resolved.methodOptions), input);
  resolved.scope ??= method.scope?.(methodOptions(method, resolved.methodOptions), input) ?? { kind: 'all' };
  const scope: ScopeOptions = resolved.scope;

  if (resolved.resume) checkResumeMatches(resolved.out, resolved);
  await writeResolvedConfig(resolved.out, 'unlearn', resolved);

  const { run, modelDir, bestStep } = await runUnlearning(input, tokenizer, {
    ...runOptions(resolved, forget.length),
    template,
    runDir: resolved.out,
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
    progress: progressDisplay,
  });
  const trainable = run.resolved.trainableParameters as number;
  process.stdout.write(
    `lethe unlearn: ${method.name} (scope ${scopeLabel(scope)}, ${trainable} trainable parameters): ${describeRun(run.loop, await lastLogLine(resolved.out))}` +
      ` → ${modelDir}${bestStep !== null ? ` (weights of the best step, ${bestStep})` : ''}\n`,
  );
  endOfRun('unlearn', run.loop, modelDir);
}
