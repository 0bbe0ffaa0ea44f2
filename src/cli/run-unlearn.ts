// `lethe unlearn`: a model folder, a method, a forget set and a retain set → RUN/model (the
// unlearned model, HF format), RUN/log.jsonl, RUN/config.yaml, RUN/checkpoints/. With
// `--eval-every N` small forget/retain probes are scored during training and the best step's
// weights are kept (score = retain Prob − forget Prob: forget less likely, retain as likely).

import { loadTofuIdk } from '../data/tofu.ts';
import { modelReadSource, openModel, resolveModelInput } from '../pipeline/model-source.ts';
import { readMcSides } from '../pipeline/eval-mc.ts';
import { checkOutsideModel, pickTemplate, readIdk, unlearningSets } from '../pipeline/data-sources.ts';
import { runUnlearning } from '../pipeline/unlearning-run.ts';
import { checkSets, pairItems } from '../pipeline/set-overlap.ts';
import { fitPairs } from '../pipeline/overlong.ts';
import { TRAINING_OVERLONG } from '../data/batches.ts';
import { getMethod, methodOptions } from '../unlearn/methods/index.ts';
import { type ScopeOptions } from '../unlearn/scope.ts';
import { fileLayer, mergeLayers, parseLayers, writeResolvedConfig, type Layer } from './config.ts';
import { downloadDisplay, progressDisplay } from './progress.ts';
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
  // A Hub name becomes its folder in the Hub cache (downloaded first when online): the checks compare local paths.
  const source = await resolveModelInput(resolved.model, { onDownload: downloadDisplay(resolved.model) });
  checkOutsideModel(resolved.out, source.path);
  const inputs = [modelReadSource(source), ...readSources(resolved, UNLEARN_PATHS.filter((k) => k !== 'model'))];
  await claimRunFolder(resolved.out, { resume: resolved.resume, overwrite: resolved.overwrite, runDirs: [resolved.out], command: 'unlearn', inputs: [...inputs, ...(configFile ? [{ path: configFile, what: 'the --config file' }] : [])] });

  const { model: input, tokenizer } = await openModel(source, { tokenizer: resolved.tokenizer });
  const template = pickTemplate(resolved.template, tokenizer);
  const sets = unlearningSets(resolved, template);
  // Ascending and descending the same items unlearns nothing: refuse unless asked.
  const overlap = checkSets([{ name: 'forget', items: pairItems(sets.forget) }, { name: 'retain', items: pairItems(sets.retain) }], resolved.allowOverlap);
  for (const o of overlap) process.stderr.write(`lethe unlearn: warning: --allow-overlap: ${o.sets[0]} and ${o.sets[1]} share ${o.count} item${o.count === 1 ? '' : 's'} (first: ${o.items[0].first.where} and ${o.items[0].second.where})\n`);
  // Read (and checked) before anything is written: a malformed file is one line naming file:line.
  const mcSides = resolved.probe === 'mc' ? readMcSides(resolved.forgetMc ?? [], resolved.retainMc ?? []) : null;
  const idk = resolved.idk ? readIdk(resolved.idk) : loadTofuIdk();
  // Items longer than the context, per --overlong (default error: exit 2 naming the file and line, whatever the shuffling).
  const fitOptions = { contextLength: resolved.contextLength ?? input.config.maxPositions, policy: resolved.overlong ?? TRAINING_OVERLONG, promptSpecialTokens: template.promptSpecialTokens, appendEos: template.appendEos };
  const fitted = { forget: fitPairs(tokenizer, sets.forget, fitOptions), retain: sets.retain.length ? fitPairs(tokenizer, sets.retain, fitOptions) : null };
  const forget = fitted.forget.pairs;
  const retain = fitted.retain?.pairs ?? [];
  for (const [set, fit] of Object.entries(fitted)) {
    const r = fit?.record;
    if (r) process.stderr.write(`lethe unlearn: --overlong ${r.policy}: ${set}: ${[r.skipped ? `${r.skipped} skipped` : '', r.truncated ? `${r.truncated} truncated` : ''].filter(Boolean).join(', ')} (longer than the ${fitOptions.contextLength}-token context): ${r.items.map((i) => `${i.where} (${i.tokens} tokens, ${i.action})`).join(', ')}\n`);
  }
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
