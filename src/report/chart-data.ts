// What the page's charts plot, gathered from the runs as plain JSON for the browser script.
// Only measured numbers are plotted; a run left out of a chart is listed with the reason.
import type { ReportRun } from './report-run.ts';

export interface ScatterPoint {
  name: string;
  /** The run's role (target, retain, …), so a label can name the references among runs drawn at one place. */
  role?: string;
  forgetQuality: number;
  modelUtility: number;
  /** 95% bootstrap intervals (error bars), when the results have them; forget quality's lower end clipped to > 0 for the log axis. */
  forgetQualityInterval?: [number, number];
  modelUtilityInterval?: [number, number];
}

export interface Curves {
  name: string;
  train: { step: number[]; series: Record<string, (number | null)[]> };
  eval: { step: number[]; series: Record<string, (number | null)[]> };
}

export interface AttackBars {
  /** "run · attack" for each pair of bars. */
  labels: string[];
  before: (number | null)[];
  after: (number | null)[];
}

export interface ChartData {
  scatter: ScatterPoint[];
  curves: Curves[];
  attacks: AttackBars;
}

const TRAIN_SERIES = ['loss', 'forgetLoss', 'retainLoss'] as const;

/** TOFU runs with both numbers; FQ must be > 0 to sit on a log axis. */
export function scatterPoints(runs: readonly ReportRun[]): { points: ScatterPoint[]; left: { name: string; why: string }[] } {
  const points: ScatterPoint[] = [];
  const left: { name: string; why: string }[] = [];
  for (const run of runs) {
    const tofu = run.results.metrics.tofu;
    if (tofu === undefined) continue;
    const fq = tofu.forgetQuality;
    const mu = tofu.modelUtility;
    if (fq?.value == null) left.push({ name: run.name, why: `forget quality ${fq === undefined ? 'not measured' : `unavailable: ${fq.unavailable}`}` });
    else if (mu?.value == null) left.push({ name: run.name, why: `model utility ${mu === undefined ? 'not measured' : `unavailable: ${mu.unavailable}`}` });
    else if (fq.value <= 0) left.push({ name: run.name, why: `forget quality is ${fq.value}, below what a log axis can show` });
    else {
      const point: ScatterPoint = { name: run.name, ...(run.results.role ? { role: run.results.role } : {}), forgetQuality: fq.value, modelUtility: mu.value };
      if (fq.interval && 'lower' in fq.interval) point.forgetQualityInterval = [Math.max(fq.interval.lower, Number.MIN_VALUE), fq.interval.upper];
      if (mu.interval && 'lower' in mu.interval) point.modelUtilityInterval = [mu.interval.lower, mu.interval.upper];
      points.push(point);
    }
  }
  return { points, left };
}

/** Training losses and evaluation probes of each run that has a log, series with any value only. */
export function runCurves(runs: readonly ReportRun[]): Curves[] {
  const curves: Curves[] = [];
  for (const run of runs) {
    if (run.log === undefined || (run.log.train.length === 0 && run.log.eval.length === 0)) continue;
    const train = run.log.train;
    const trainSeries: Record<string, (number | null)[]> = {};
    for (const key of TRAIN_SERIES) {
      const values = train.map((line) => line[key] ?? null);
      if (values.some((v) => v !== null)) trainSeries[key] = values;
    }
    const evals = run.log.eval;
    const evalKeys = [...new Set(evals.flatMap((line) => Object.keys(line.eval)))];
    const evalSeries: Record<string, (number | null)[]> = {};
    for (const key of evalKeys) {
      const values = evals.map((line) => line.eval[key] ?? null);
      if (values.some((v) => v !== null)) evalSeries[key] = values;
    }
    curves.push({
      name: run.name,
      train: { step: train.map((line) => line.step), series: trainSeries },
      eval: { step: evals.map((line) => line.step), series: evalSeries },
    });
  }
  return curves;
}

/** Forget Prob before and after each attack, one pair of bars per (run, attack). */
export function attackBars(runs: readonly ReportRun[]): AttackBars {
  const bars: AttackBars = { labels: [], before: [], after: [] };
  for (const run of runs) {
    for (const [attack, result] of Object.entries(run.results.attacks ?? {})) {
      bars.labels.push(`${run.name} · ${attack}`);
      bars.before.push(result.before.forgetProb ?? null);
      bars.after.push(result.after.forgetProb ?? null);
    }
  }
  return bars;
}
