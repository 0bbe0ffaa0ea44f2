// `lethe eval`: one model → results.json (lethe.results/1) with per-item values. TOFU (a forget
// split, or a small author subset) or a MUSE-style text benchmark. Forget quality and PrivLeak
// need a retain model's values (`--retain-model DIR`, evaluated here, or `--retain-results
// FILE`); without them they are written as unavailable, with the reason.

import { resolve } from 'node:path';
import { evaluateModel } from '../pipeline/evaluate.ts';
import type { MetricFamilies } from '../pipeline/results-file.ts';
import { fileLayer, parseLayers, type Layer } from './config.ts';
import { checkWritesOutsideInputs } from '../io/paths.ts';
import { resultsPath } from '../pipeline/results-file.ts';
import { readSources } from './run-options.ts';

import { EVAL_PATHS, evalSchema, resolveEvalOptions } from '../pipeline/options/eval.ts';

export { EVAL_PATHS, evalSchema, resolveEvalOptions, type EvalUserOptions, type ResolvedEvalOptions } from '../pipeline/options/eval.ts';

/** Runs `lethe eval` from its option layers (config file, flags). */
export async function evalCommand(flags: Layer, configFile?: string): Promise<void> {
  const file = configFile ? fileLayer(configFile, EVAL_PATHS) : null;
  const resolved = resolveEvalOptions(parseLayers(evalSchema, [...(file ? [file] : []), flags]));
  checkWritesOutsideInputs({ path: resultsPath(resolved.out), flag: '--out' }, [...readSources(resolved, EVAL_PATHS), ...(configFile ? [{ path: configFile, what: 'the --config file' }] : [])]);
  const { metrics, path } = await evaluateModel(resolved);
  process.stdout.write(`lethe eval: ${resolved.benchmark} on ${resolve(resolved.model)}: ${headline(metrics)} → ${path}\n`);
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
      const v = metrics[f][m].value;
      return `${label} ${v === null ? 'unavailable' : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(4)}`;
    })
    .join(', ');
}
