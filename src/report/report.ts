// `lethe report`: load runs (a run directory, or a results.json path) and write the HTML page.
import { stat } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LetheError } from '../engine/errors.ts';
import { writeFileAtomic } from '../models/formats/write-file-atomic.ts';
import { renderReport, type ReportRun } from './html.ts';
import { readLog } from './log.ts';
import { readResults } from '../results/schema.ts';

export const RESULTS_FILE = 'results.json';
export const LOG_FILE = 'log.jsonl';

/**
 * The results file of a run folder: results.json, or else its one lethe results file of another
 * name (`lethe eval --out RUN/mc.json`). Throws LetheError naming what the folder holds otherwise.
 */
function resultsIn(dir: string): string {
  if (existsSync(join(dir, RESULTS_FILE))) return join(dir, RESULTS_FILE);
  const own = readdirSync(dir).filter((f) => f.endsWith('.json') && statSync(join(dir, f)).isFile() && /^\s*\{\s*"schema"\s*:\s*"lethe\.results\//.test(readFileSync(join(dir, f), 'utf8').slice(0, 200)));
  if (own.length === 1) return join(dir, own[0]);
  if (own.length > 1) throw new LetheError(`${dir}: holds several results files (${own.join(', ')}) and no ${RESULTS_FILE}; give the files themselves`);
  const runs = readdirSync(dir).filter((f) => existsSync(join(dir, f, RESULTS_FILE)));
  throw new LetheError(`${dir}: no ${RESULTS_FILE} here${runs.length ? ` (the folders ${runs.join(', ')} hold one: give them)` : ''}; evaluate the run first (lethe eval --out ${join(dir, RESULTS_FILE)}) or give a results file`);
}

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
  const resultsPath = isDirectory ? resultsIn(path) : path;
  const dir = dirname(resultsPath);
  const name = isDirectory ? basename(resolve(path)) : basename(resultsPath) === RESULTS_FILE ? basename(resolve(dir)) : basename(resultsPath).replace(/\.json$/, '');
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
  checkComparable(runs);
  await writeFileAtomic(out, renderReport(runs));
  return { out, runs: runs.length };
}

/**
 * The report sets runs of one benchmark side by side, so they must have evaluated the same data:
 * every run that records what it evaluated (results.json `evaluated`) is checked against the
 * first such run of its benchmark, set by set (content hashes), then template and tokenizer.
 * Throws LetheError naming both runs and the field that differs. Files written before lethe
 * recorded it are not checked (they have nothing to compare).
 */
export function checkComparable(runs: readonly ReportRun[]): void {
  const first = new Map<string, ReportRun>();
  for (const run of runs) {
    const ev = run.results.evaluated;
    if (!ev) continue;
    const key = run.results.benchmark.name;
    const ref = first.get(key);
    if (!ref) {
      first.set(key, run);
      continue;
    }
    const other = ref.results.evaluated!;
    const why = 'the report compares results only on the same evaluated data';
    for (const set of [...new Set([...Object.keys(other.data), ...Object.keys(ev.data)])]) {
      const [a, b] = [other.data[set], ev.data[set]];
      if (a?.sha256 === b?.sha256) continue;
      const show = (d: typeof a) => (d ? `${d.source}, ${d.items} items` : 'none');
      throw new LetheError(`report: ${run.name}: evaluated.data.${set}.sha256 differs from ${ref.name}'s (${show(b)} against ${show(a)}); ${why}`);
    }
    for (const field of ['template', 'tokenizer'] as const) {
      if (other[field] !== ev[field]) throw new LetheError(`report: ${run.name}: evaluated.${field} is ${JSON.stringify(ev[field] ?? null)} but ${ref.name}'s is ${JSON.stringify(other[field] ?? null)}; ${why}`);
    }
  }
}
