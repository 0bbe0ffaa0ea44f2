// `lethe report`: load runs (a run directory, or a results.json path) and write the HTML page.
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LetheError } from '../engine/errors.ts';
import { writeFileAtomic } from '../models/formats/write-file-atomic.ts';
import { renderReport, type ReportRun } from './html.ts';
import { readLog } from './log.ts';
import { readResults } from '../results/schema.ts';

export const RESULTS_FILE = 'results.json';
export const LOG_FILE = 'log.jsonl';

/**
 * A run directory gives `results.json` and, when present, `log.jsonl`; a results file path
 * gives that file and the `log.jsonl` beside it. The run is named after its directory (or the
 * file, when it is not called results.json).
 */
export async function loadRun(path: string): Promise<ReportRun> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch {
    throw new LetheError(`${path}: no such run directory or results file`);
  }
  const resultsPath = isDirectory ? join(path, RESULTS_FILE) : path;
  const dir = dirname(resultsPath);
  const name = basename(resultsPath) === RESULTS_FILE ? basename(resolve(isDirectory ? path : dir)) : basename(resultsPath).replace(/\.json$/, '');
  const results = await readResults(resultsPath);
  const log = await readLog(join(dir, LOG_FILE));
  return log === undefined ? { name, results } : { name, results, log };
}

/** Renders the runs into one HTML page at `out`, written atomically. */
export async function writeReport(runPaths: readonly string[], out: string): Promise<{ out: string; runs: number }> {
  if (runPaths.length === 0) throw new LetheError('report: give at least one run directory or results.json');
  const runs = await Promise.all(runPaths.map(loadRun));
  // Two runs with the same directory name (a/run, b/run) are told apart by the path given.
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(run.name, (counts.get(run.name) ?? 0) + 1);
  runs.forEach((run, i) => {
    if (counts.get(run.name)! > 1) run.name = runPaths[i];
  });
  await writeFileAtomic(out, renderReport(runs));
  return { out, runs: runs.length };
}
