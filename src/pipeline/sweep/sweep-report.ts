/**
 * `lethe report DIR` on a sweep folder: the sweep's sections (forget-quality/utility Pareto front
 * with the target and the retain reference, best trial per method under the selection rule,
 * spread over seeds, sensitivity, the attacks of every trial; report/sweep-analysis.ts defines
 * each) beside the report's usual tables. Those show the references and the trials whose files
 * are readable here, where real-runner.ts writes them:
 *
 *   DIR/target-<key>/results.json, DIR/retain-<key>/results.json   the target and retain reference
 *   TRIAL/eval/results.json    the trial's evaluation
 *   TRIAL/unlearn/log.jsonl    its training log (the curves)
 *   TRIAL/attacks.json         its attacks (forget Prob before/after)
 *
 * TRIAL is DIR/trials/<id>/ for an in-process sweep; a queued trial's folder stays on its worker
 * (sweep.json's workerDir; DIR/trials/<id>/ then holds only the coordinator's config.json and
 * result.json). When this machine shares the worker's folder, the trial's files and the target
 * and retain evaluations in the worker's WORKDIR are read from there; otherwise its sweep.json
 * numbers are shown and the report says, once per trial, where the rest is.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { LetheError } from '../../engine/errors.ts';
import { writeFileAtomic } from '../../models/formats/write-file-atomic.ts';
import { renderReport, type LogElsewhere, type ReportRun } from '../../report/html.ts';
import { readLog } from '../../report/log.ts';
import { loadRun } from '../../report/report.ts';
import { analyzeSweep, type ReferencePoint, type SweepAnalysis, type TrialAttackRecord } from '../../report/sweep-analysis.ts';
import { renderSweepPage, renderSweepSections, type SweepExtras } from '../../report/sweep-html.ts';
import { attackResultSchema } from '../../results/schema.ts';
import { readSweepFile, SWEEP_FILE, type TrialEntry } from './sweep-file.ts';

/** True when `dir` is a sweep folder (holds sweep.json). */
export function isSweepFolder(dir: string): boolean {
  return existsSync(join(dir, SWEEP_FILE));
}

/** What the runner writes in a trial's folder (real-runner.ts); a queued trial's DIR/trials/<id>/ holds only the coordinator's config.json and result.json. */
const RUN_FILES = ['unlearn', 'unlearn.json', 'eval', 'attacks.json'];

/**
 * The trial's run folder readable from here: DIR/trials/<id> when the trial ran in it, else the
 * worker's folder when this machine shares it, else null.
 */
function trialFolder(dir: string, t: TrialEntry): string | null {
  for (const folder of [join(dir, 'trials', t.id), t.workerDir]) {
    if (folder !== undefined && RUN_FILES.some((f) => existsSync(join(folder, f)))) return folder;
  }
  return null;
}

/** Why a trial's files are not here, in one phrase. */
function elsewhere(t: TrialEntry): string {
  return t.worker
    ? `ran on worker ${t.worker}; its folder (training log, evaluation, attacks) is ${t.workerDir ?? 'on that machine'} there, not in this sweep folder`
    : `trials/${t.id} holds none of the trial's files (${RUN_FILES.join(', ')})`;
}

const attacksFileSchema = z.record(z.string(), attackResultSchema);

/** TRIAL/attacks.json, validated; errors name the file and field. */
async function readAttacks(file: string): Promise<TrialAttackRecord> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new LetheError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = attacksFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LetheError(`${file}: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The shared evaluations (<kind>-<key>/results.json, made once per content hash) in the sweep
 * folder and, for queued trials, in the workers' folders this machine shares (a worker's
 * WORKDIR, two levels above its trial folder); one per key, as paths sorted by key.
 */
function sharedResults(roots: readonly string[], kind: 'target' | 'retain'): string[] {
  const byName = new Map<string, string>();
  for (const root of roots) {
    for (const e of readdirSync(root, { withFileTypes: true })) {
      if (e.isDirectory() && e.name.startsWith(`${kind}-`) && !byName.has(e.name) && existsSync(join(root, e.name, 'results.json'))) byName.set(e.name, join(root, e.name));
    }
  }
  return [...byName.keys()].sort().map((name) => byName.get(name)!);
}

/**
 * The retain reference's point: forget quality is 1 by definition (the KS test of its forget
 * truth ratios against themselves), model utility as its results.json gives it (unavailable, with
 * the reason, when its evaluation scored without generating).
 */
function retainPoint(run: ReportRun, folder: string): ReferencePoint {
  const mu = run.results.metrics.tofu?.modelUtility;
  const interval = mu?.interval && 'lower' in mu.interval ? ([mu.interval.lower, mu.interval.upper] as [number, number]) : null;
  return {
    role: 'retain',
    label: 'retain reference',
    forgetQuality: { value: 1, interval: null },
    modelUtility: mu === undefined ? { value: null, unavailable: 'not measured (no TOFU evaluation)' } : mu.value === null ? { value: null, unavailable: mu.unavailable ?? 'no reason given' } : { value: mu.value, interval },
    source: `the model trained without the forget set (${folder}/results.json); its forget quality is 1 by definition (its truth ratios tested against themselves)`,
  };
}

/**
 * Writes the sweep report of the sweep folder `dir` to `out` (atomically). Returns the analysis
 * and how many runs (references and trial evaluations) the run tables show. LetheError when
 * dir/sweep.json is missing or malformed, or a trial's file that is there is malformed.
 */
export async function writeSweepReport(dir: string, out: string): Promise<{ out: string; analysis: SweepAnalysis; runs: number }> {
  const file = await readSweepFile(join(dir, SWEEP_FILE));
  if (!file) throw new LetheError(`${dir}: no ${SWEEP_FILE} (not a sweep folder)`);
  const analysis = analyzeSweep(file);
  const finished = file.trials.filter((t) => t.status === 'done');

  const runs: ReportRun[] = [];
  const attacks: Record<string, TrialAttackRecord> = {};
  const extras: SweepExtras = { attacks };
  const workerRoots = [...new Set(finished.flatMap((t) => (t.workerDir ? [dirname(dirname(t.workerDir))] : [])))].filter((root) => existsSync(root));
  const roots = [dir, ...workerRoots];
  const targets = sharedResults(roots, 'target');
  const retains = sharedResults(roots, 'retain');
  for (const path of targets) runs.push({ ...(await loadRun(path)), name: targets.length === 1 ? 'target' : `target ${basename(path).slice('target-'.length)}` });
  for (const path of retains) {
    const run = { ...(await loadRun(path)), name: retains.length === 1 ? 'retain reference' : `retain reference ${basename(path).slice('retain-'.length)}` };
    runs.push(run);
    if (retains.length === 1) extras.retain = retainPoint(run, basename(path));
  }
  if (retains.length > 1) extras.retain = { unavailable: `${retains.length} retain references (${retains.map((p) => basename(p)).join(', ')}); see the run tables` };
  else if (retains.length === 0 && finished.some((t) => t.config.retainReference)) {
    extras.retain = { unavailable: finished.some((t) => t.worker) ? 'its results are not in this sweep folder (they stay in the folder of the worker that evaluated it)' : 'no retain-<key>/results.json in this sweep folder' };
  }

  const logsElsewhere: LogElsewhere[] = [];
  for (const t of finished) {
    const name = `${t.method} ${t.id}`;
    const folder = trialFolder(dir, t);
    if (folder === null) {
      logsElsewhere.push({ name, why: elsewhere(t) });
      if (t.config.attacks.length > 0) attacks[t.id] = { unavailable: `forget Prob before/after is in the trial's attacks.json: ${elsewhere(t)}` };
      continue;
    }
    const attacksFile = join(folder, 'attacks.json');
    if (existsSync(attacksFile)) attacks[t.id] = await readAttacks(attacksFile);
    else if (t.config.attacks.length > 0) attacks[t.id] = { unavailable: `no attacks.json in trials/${t.id}` };
    const evalDir = join(folder, 'eval');
    if (!existsSync(join(evalDir, 'results.json'))) continue;
    const run = await loadRun(evalDir);
    // The training log is the unlearning run's (TRIAL/unlearn/log.jsonl), not beside the evaluation.
    const log = (await readLog(join(folder, 'unlearn', 'log.jsonl'))) ?? run.log;
    runs.push(log === undefined ? { name, results: run.results } : { name, results: run.results, log });
  }

  const sections = renderSweepSections(analysis, extras);
  const trialRuns = runs.filter((r) => r.results.role !== 'target' && r.results.role !== 'retain').length;
  const html = trialRuns > 0 ? renderReport(runs, sections, { baseDir: dir, logsElsewhere }) : renderSweepPage(analysis, new Date(), { extras, logsElsewhere });
  await writeFileAtomic(out, html);
  return { out, analysis, runs: runs.length };
}
