/**
 * `lethe report DIR` on a sweep folder: the sweep's sections (forget-quality/utility Pareto front,
 * best trial per method under the selection rule, spread over seeds, sensitivity; report/
 * sweep-analysis.ts defines each) beside the report's usual tables, which show the trials whose
 * evaluation is in this folder (DIR/trials/<id>/eval/results.json: every trial of an in-process
 * sweep; a queued sweep's trial folders stay on their workers, so only the sweep sections then).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../../engine/errors.ts';
import { writeFileAtomic } from '../../models/formats/write-file-atomic.ts';
import { renderReport } from '../../report/html.ts';
import { loadRun } from '../../report/report.ts';
import { analyzeSweep, type SweepAnalysis } from '../../report/sweep-analysis.ts';
import { renderSweepPage, renderSweepSections } from '../../report/sweep-html.ts';
import { readSweepFile, SWEEP_FILE } from './sweep-file.ts';

/** True when `dir` is a sweep folder (holds sweep.json). */
export function isSweepFolder(dir: string): boolean {
  return existsSync(join(dir, SWEEP_FILE));
}

/**
 * Writes the sweep report of the sweep folder `dir` to `out` (atomically). Returns the analysis
 * and how many trial evaluations the run tables show. LetheError when dir/sweep.json is missing
 * or malformed.
 */
export async function writeSweepReport(dir: string, out: string): Promise<{ out: string; analysis: SweepAnalysis; runs: number }> {
  const file = await readSweepFile(join(dir, SWEEP_FILE));
  if (!file) throw new LetheError(`${dir}: no ${SWEEP_FILE} (not a sweep folder)`);
  const analysis = analyzeSweep(file);
  const evalDir = (id: string) => join(dir, 'trials', id, 'eval');
  const evaluated = file.trials.filter((t) => t.status === 'done' && existsSync(join(evalDir(t.id), 'results.json')));
  const runs = await Promise.all(evaluated.map(async (t) => ({ ...(await loadRun(evalDir(t.id))), name: `${t.method} ${t.id}` })));
  const html = runs.length > 0 ? renderReport(runs, renderSweepSections(analysis)) : renderSweepPage(analysis);
  await writeFileAtomic(out, html);
  return { out, analysis, runs: runs.length };
}
