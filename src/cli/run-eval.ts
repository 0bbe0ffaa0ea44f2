// `lethe eval`: one model → results.json (lethe.results/1) with per-item values. TOFU (a forget
// split, or a small author subset) or a MUSE-style text benchmark. Forget quality and PrivLeak
// need a retain model's values (`--retain-model DIR`, evaluated here, or `--retain-results
// FILE`); without them they are written as unavailable, with the reason.

import { resolve } from 'node:path';
import { parseHubRef } from '../models/hub.ts';
import { formatMetric } from '../eval/metrics/metric-result.ts';
import { evaluateModel } from '../pipeline/evaluate.ts';
import type { MetricFamilies } from '../pipeline/results-file.ts';
import { fileLayer, parseLayers, type Layer } from './config.ts';
import { checkReplaceable, checkWritesOutsideInputs } from '../io/paths.ts';
import { resultsPath } from '../pipeline/results-file.ts';
import { readSources } from './run-options.ts';
import { downloadDisplay } from './progress.ts';
import { modelReadSources } from '../pipeline/model-source.ts';

import { EVAL_PATHS, evalSchema, resolveEvalOptions } from '../pipeline/options/eval.ts';

export { EVAL_PATHS, evalSchema, resolveEvalOptions, type EvalUserOptions, type ResolvedEvalOptions } from '../pipeline/options/eval.ts';

/** Runs `lethe eval` from its option layers (config file, flags). */
export async function evalCommand(flags: Layer, configFile?: string): Promise<void> {
  const file = configFile ? fileLayer(configFile, EVAL_PATHS) : null;
  const resolved = resolveEvalOptions(parseLayers(evalSchema, [...(file ? [file] : []), flags]));
  // Hub names become their folders in the Hub cache (downloaded first when online): the check compares local paths.
  const modelKeys = ['model', 'retainModel', 'referenceModel'] as const;
  const models = await modelReadSources(resolved, modelKeys, downloadDisplay);
  const others = readSources(resolved, EVAL_PATHS.filter((k) => !(modelKeys as readonly string[]).includes(k)));
  checkWritesOutsideInputs({ path: resultsPath(resolved.out), flag: '--out' }, [...models, ...others, ...(configFile ? [{ path: configFile, what: 'the --config file' }] : [])]);
  checkReplaceable(resultsPath(resolved.out), '--out', 'results');
  const { metrics, path, results } = await evaluateModel(resolved);
  for (const w of results.warnings ?? []) process.stderr.write(`lethe eval: warning: ${w}\n`);
  process.stdout.write(`lethe eval: ${resolved.benchmark} on ${parseHubRef(resolved.model) ? resolved.model : resolve(resolved.model)}: ${headline(metrics)} → ${path}\n`);
}

/** The few numbers the summary line shows. */
function headline(metrics: MetricFamilies): string {
  const pick: [string, string, string][] = [
    ['tofu', 'forgetQuality', 'forget quality'], ['tofu', 'modelUtility', 'model utility'], ['tofu', 'forgetProb', 'forget Prob'],
    ['mc', 'forgetAcc', 'forget acc'], ['mc', 'forgetChance', 'chance'], ['mc', 'retainAcc', 'retain acc'], ['mc', 'retainChance', 'chance'],
    ['muse', 'verbMem', 'VerbMem'], ['muse', 'knowMemForget', 'KnowMem forget'], ['mia', 'minKAuc', 'Min-K% AUC'], ['mia', 'privLeak', 'PrivLeak'],
  ];
  return pick
    .filter(([f, m]) => metrics[f]?.[m] !== undefined)
    .map(([f, m, label]) => {
      const metric = metrics[f][m];
      // The value with its 95% bootstrap interval and item count; unavailable without the (long) reason, which results.json holds.
      return `${label} ${metric.value === null ? 'unavailable' : formatMetric(metric)}`;
    })
    .join(', ');
}
