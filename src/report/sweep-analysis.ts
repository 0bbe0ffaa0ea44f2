/**
 * What a sweep found: the forget-quality / model-utility Pareto front, the best trial of each
 * method under the sweep's selection rule, the spread of each setting over its seeds, and which
 * hyper-parameters move the metrics most. Pure functions of the trials of a sweep.json
 * (`lethe.sweep/1`; the types below are the fields read, so sweep.json's trials fit them as is).
 *
 * Definitions:
 * - Pareto front: the finished trials that no other trial beats on both forget quality and model
 *   utility (≥ on both and > on one), both higher-is-better. Trials whose value is unavailable
 *   are left out.
 * - Selection rule: every constraint met (`atLeast`/`atMost` absolute, or with `of: target` a
 *   fraction of the target's value of the same metric on the same evaluated data, as the trial
 *   reported it); among those, the highest `maximize` value (ties: the lower trial id, so the
 *   choice is stable). A constraint whose value (or target value) is unavailable is not met.
 * - Spread over seeds: per setting (the trials that differ only by seed), mean ± sample standard
 *   deviation (n − 1; none for one seed) of each metric, and how many of its N seeds pass the
 *   selection rule.
 * - Sensitivity, per method and swept parameter: the trials are grouped by the parameter's value
 *   and each group's mean metric taken (averaging over the other parameters and the seeds; the
 *   main effect of a full grid; a numeric parameter with more than 6 distinct values, as a random
 *   search draws, is grouped by terciles). `range` is the largest minus the smallest group mean; `share` is
 *   the part of the metric's variance across the method's trials that the grouping explains
 *   (η² = between-group sum of squares / total sum of squares, in [0, 1]). Forget quality is a
 *   KS-test p-value spanning orders of magnitude, so it enters as log10 (a range of 2 means
 *   "a hundredfold"); other metrics as they are.
 */

export interface SweepMetricView {
  value: number | null;
  interval?: [number, number] | null;
  unavailable?: string;
}

export type ParamValue = number | string | boolean;

export interface SweepTrialView {
  id: string;
  settingId: string;
  method: string;
  seed: number;
  params: Record<string, ParamValue>;
  status: 'pending' | 'running' | 'done' | 'failed';
  metrics?: Record<string, SweepMetricView>;
  targetMetrics?: Record<string, SweepMetricView>;
  error?: string;
}

export interface SelectionRuleView {
  maximize: string;
  constraints: { metric: string; atLeast?: number; atMost?: number; of?: 'target' }[];
}

export interface SweepView {
  name: string;
  selection: SelectionRuleView;
  trials: SweepTrialView[];
}

export const FORGET_QUALITY = 'forgetQuality';
export const MODEL_UTILITY = 'modelUtility';

const valueOf = (t: SweepTrialView, metric: string): number | null => t.metrics?.[metric]?.value ?? null;
const done = (trials: readonly SweepTrialView[]) => trials.filter((t) => t.status === 'done');

/** The Pareto front over (x, y), both maximised; sorted by x ascending (y then descends). */
export function paretoFront(trials: readonly SweepTrialView[], x = FORGET_QUALITY, y = MODEL_UTILITY): SweepTrialView[] {
  const points = done(trials).filter((t) => valueOf(t, x) !== null && valueOf(t, y) !== null);
  const front = points.filter((p) => {
    const [px, py] = [valueOf(p, x)!, valueOf(p, y)!];
    return !points.some((q) => {
      const [qx, qy] = [valueOf(q, x)!, valueOf(q, y)!];
      return qx >= px && qy >= py && (qx > px || qy > py);
    });
  });
  return front.sort((a, b) => valueOf(a, x)! - valueOf(b, x)! || a.id.localeCompare(b.id));
}

export interface RuleCheck {
  passes: boolean;
  /** Why it fails, one phrase per constraint not met. */
  reasons: string[];
}

/** Whether a trial meets every constraint of the rule. */
export function checkRule(trial: SweepTrialView, rule: SelectionRuleView): RuleCheck {
  const reasons: string[] = [];
  if (trial.status !== 'done') return { passes: false, reasons: [`trial ${trial.status}`] };
  for (const c of rule.constraints) {
    const v = valueOf(trial, c.metric);
    if (v === null) {
      reasons.push(`${c.metric} unavailable`);
      continue;
    }
    let scale = 1;
    if (c.of === 'target') {
      const target = trial.targetMetrics?.[c.metric]?.value ?? null;
      if (target === null) {
        reasons.push(`the target's ${c.metric} is unavailable`);
        continue;
      }
      scale = target;
    }
    const what = c.of === 'target' ? ` × target's ${scale}` : '';
    if (c.atLeast !== undefined && !(v >= c.atLeast * scale)) reasons.push(`${c.metric} ${v} < ${c.atLeast}${what}`);
    if (c.atMost !== undefined && !(v <= c.atMost * scale)) reasons.push(`${c.metric} ${v} > ${c.atMost}${what}`);
  }
  return { passes: reasons.length === 0, reasons };
}

export interface MethodBest {
  method: string;
  /** The selected trial, or null when no finished trial of the method meets the rule. */
  best: SweepTrialView | null;
  /** Finished trials meeting the rule / finished trials / all trials of the method. */
  passing: number;
  finished: number;
  total: number;
}

/** The rule's pick among trials (null when none passes or none has the maximised metric). */
export function selectBest(trials: readonly SweepTrialView[], rule: SelectionRuleView): SweepTrialView | null {
  const ok = done(trials).filter((t) => checkRule(t, rule).passes && valueOf(t, rule.maximize) !== null);
  ok.sort((a, b) => valueOf(b, rule.maximize)! - valueOf(a, rule.maximize)! || a.id.localeCompare(b.id));
  return ok[0] ?? null;
}

/** The best trial of each method under the rule, methods in order of first appearance. */
export function bestPerMethod(trials: readonly SweepTrialView[], rule: SelectionRuleView): MethodBest[] {
  const methods = [...new Set(trials.map((t) => t.method))];
  return methods.map((method) => {
    const mine = trials.filter((t) => t.method === method);
    return {
      method,
      best: selectBest(mine, rule),
      passing: done(mine).filter((t) => checkRule(t, rule).passes).length,
      finished: done(mine).length,
      total: mine.length,
    };
  });
}

export interface Spread {
  mean: number;
  /** Sample standard deviation (n − 1), null for a single value. */
  sd: number | null;
  n: number;
}

export function spread(values: readonly number[]): Spread | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : null;
  return { mean, sd, n: values.length };
}

export interface SettingSpread {
  settingId: string;
  method: string;
  params: Record<string, ParamValue>;
  seeds: number[];
  metrics: Record<string, Spread | null>;
  /** Seeds whose trial meets the selection rule, of the setting's finished trials. */
  passes: number;
  of: number;
}

/** Per setting (trials equal but for the seed): mean ± sd of `metrics` over seeds, and passes k of N. */
export function seedSpread(trials: readonly SweepTrialView[], rule: SelectionRuleView, metrics: readonly string[] = [FORGET_QUALITY, MODEL_UTILITY]): SettingSpread[] {
  const groups = new Map<string, SweepTrialView[]>();
  for (const t of done(trials)) groups.set(t.settingId, [...(groups.get(t.settingId) ?? []), t]);
  return [...groups.values()].map((group) => ({
    settingId: group[0].settingId,
    method: group[0].method,
    params: group[0].params,
    seeds: group.map((t) => t.seed).sort((a, b) => a - b),
    metrics: Object.fromEntries(metrics.map((m) => [m, spread(group.map((t) => valueOf(t, m)).filter((v): v is number => v !== null))])),
    passes: group.filter((t) => checkRule(t, rule).passes).length,
    of: group.length,
  }));
}

export interface Sensitivity {
  method: string;
  param: string;
  metric: string;
  /** 'log10' for forget quality, else 'identity'. */
  scale: 'log10' | 'identity';
  /** The group mean of the metric (on `scale`) at each value (or tercile "[low, high]") of the parameter, in sweep order. */
  levels: { value: ParamValue; mean: number; n: number }[];
  /** Largest minus smallest group mean. */
  range: number;
  /** η²: share of the metric's variance explained by the parameter, or null when the metric does not vary. */
  share: number | null;
}

/** Distinct numeric values above which a parameter is binned (a random search draws each anew). */
export const MAX_LEVELS = 6;

/**
 * The group a parameter value falls in: the value itself, or for a numeric parameter with more
 * than MAX_LEVELS distinct values, its tercile ("[low, high]": three bins of about equal counts).
 */
function binner(values: readonly ParamValue[]): (v: ParamValue) => ParamValue {
  const distinct = [...new Set(values)];
  if (distinct.length <= MAX_LEVELS || !distinct.every((v) => typeof v === 'number')) return (v) => v;
  const sorted = (values as number[]).slice().sort((a, b) => a - b);
  const cuts = [sorted[Math.floor(sorted.length / 3)], sorted[Math.floor((2 * sorted.length) / 3)]];
  const show = (x: number) => (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e4) ? x.toExponential(2) : String(Number(x.toPrecision(3))));
  const label = (lo: number, hi: number) => `[${show(lo)}, ${show(hi)}]`;
  const bins = [
    label(sorted[0], Math.max(...sorted.filter((x) => x < cuts[0]), sorted[0])),
    label(cuts[0], Math.max(...sorted.filter((x) => x < cuts[1]), cuts[0])),
    label(cuts[1], sorted[sorted.length - 1]),
  ];
  return (v) => bins[(v as number) < cuts[0] ? 0 : (v as number) < cuts[1] ? 1 : 2];
}

export function metricScale(metric: string): 'log10' | 'identity' {
  return metric === FORGET_QUALITY ? 'log10' : 'identity';
}

/**
 * For each method, swept parameter (with ≥ 2 values among its finished trials) and metric, the
 * main effect (see the module comment); sorted by method, then metric, then range, largest first.
 */
export function sensitivity(trials: readonly SweepTrialView[], metrics: readonly string[] = [FORGET_QUALITY, MODEL_UTILITY]): Sensitivity[] {
  const out: Sensitivity[] = [];
  const methods = [...new Set(trials.map((t) => t.method))];
  for (const method of methods) {
    const mine = done(trials).filter((t) => t.method === method);
    const params = [...new Set(mine.flatMap((t) => Object.keys(t.params)))];
    for (const metric of metrics) {
      const scale = metricScale(metric);
      const measured = mine
        .map((t) => ({ t, v: valueOf(t, metric) }))
        .filter((x): x is { t: SweepTrialView; v: number } => x.v !== null && (scale === 'identity' || x.v > 0))
        .map(({ t, v }) => ({ t, y: scale === 'log10' ? Math.log10(v) : v }));
      if (measured.length === 0) continue;
      const grand = measured.reduce((a, x) => a + x.y, 0) / measured.length;
      const total = measured.reduce((a, x) => a + (x.y - grand) ** 2, 0);
      const rows: Sensitivity[] = [];
      for (const param of params) {
        const groups = new Map<string, { value: ParamValue; ys: number[] }>();
        const bin = binner(measured.map(({ t }) => t.params[param]).filter((v) => v !== undefined));
        for (const { t, y } of measured) {
          if (!(param in t.params)) continue;
          const value = bin(t.params[param]);
          const key = JSON.stringify(value);
          if (!groups.has(key)) groups.set(key, { value, ys: [] });
          groups.get(key)!.ys.push(y);
        }
        if (groups.size < 2) continue;
        const levels = [...groups.values()].map((g) => ({ value: g.value, mean: g.ys.reduce((a, b) => a + b, 0) / g.ys.length, n: g.ys.length }));
        const means = levels.map((l) => l.mean);
        const between = levels.reduce((a, l) => a + l.n * (l.mean - grand) ** 2, 0);
        rows.push({ method, param, metric, scale, levels, range: Math.max(...means) - Math.min(...means), share: total > 0 ? Math.min(1, between / total) : null });
      }
      out.push(...rows.sort((a, b) => b.range - a.range));
    }
  }
  return out;
}

export interface SweepAnalysis {
  name: string;
  selection: SelectionRuleView;
  counts: { total: number; done: number; failed: number; unfinished: number };
  pareto: SweepTrialView[];
  /** Every finished trial (the scatter behind the front). */
  points: SweepTrialView[];
  best: MethodBest[];
  spread: SettingSpread[];
  sensitivity: Sensitivity[];
  /** The trials that failed, with their reasons (shown, never silently dropped). */
  failed: SweepTrialView[];
  /** The target as the trials measured it (targetPoints). */
  targets: ReferencePoint[];
}

/** Everything the report shows about a sweep. */
export function analyzeSweep(sweep: SweepView): SweepAnalysis {
  const t = sweep.trials;
  const d = done(t).length;
  const failed = t.filter((x) => x.status === 'failed');
  return {
    name: sweep.name,
    selection: sweep.selection,
    counts: { total: t.length, done: d, failed: failed.length, unfinished: t.length - d - failed.length },
    pareto: paretoFront(t),
    points: done(t),
    best: bestPerMethod(t, sweep.selection),
    spread: seedSpread(t, sweep.selection),
    sensitivity: sensitivity(t),
    failed,
    targets: targetPoints(t),
  };
}

/**
 * A reference model placed beside the trials on the forget-quality / model-utility plane: the
 * target (before unlearning: where unlearning starts) or the retain reference (trained without
 * the forget set: where it should go).
 */
export interface ReferencePoint {
  role: 'target' | 'retain';
  label: string;
  forgetQuality: SweepMetricView;
  modelUtility: SweepMetricView;
  /** Where the values come from, shown in the point's title. */
  source: string;
}

/**
 * The target as the trials measured it (`targetMetrics`, on the same evaluated data as each
 * trial): one point per distinct pair of values among finished trials, usually one. Empty when no
 * trial reported the target's values.
 */
export function targetPoints(trials: readonly SweepTrialView[]): ReferencePoint[] {
  const seen = new Map<string, { t: SweepTrialView; n: number }>();
  for (const t of done(trials)) {
    const fq = t.targetMetrics?.[FORGET_QUALITY];
    const mu = t.targetMetrics?.[MODEL_UTILITY];
    if (!fq && !mu) continue;
    const key = JSON.stringify([fq?.value ?? null, mu?.value ?? null]);
    const e = seen.get(key);
    if (e) e.n++;
    else seen.set(key, { t, n: 1 });
  }
  const many = seen.size > 1;
  return [...seen.values()].map(({ t, n }, i) => ({
    role: 'target',
    label: many ? `target ${i + 1}` : 'target',
    forgetQuality: t.targetMetrics?.[FORGET_QUALITY] ?? { value: null, unavailable: 'the trials did not report the target’s forget quality' },
    modelUtility: t.targetMetrics?.[MODEL_UTILITY] ?? { value: null, unavailable: 'the trials did not report the target’s model utility' },
    source: `the model before unlearning, as ${n} trial${n === 1 ? '' : 's'} measured it on the same evaluated data`,
  }));
}

/** One attack's outcome on a trial, as attacks.json records it (forget Prob and other scores before/after). */
export interface AttackScores {
  before: Record<string, number | null | undefined>;
  after: Record<string, number | null | undefined>;
  recovered?: number | null;
}

/** A trial's attack record, or why it cannot be read here (a trial folder left on a remote worker). */
export type TrialAttackRecord = Record<string, AttackScores> | { unavailable: string };

export interface AttackRow {
  trial: SweepTrialView;
  attack: string;
  /** Whether the trial is its method's pick under the selection rule. */
  best: boolean;
  /** sweep.json's `<attack>.recovered`: (after − before) / (target − before) on forget Prob. */
  recovered: SweepMetricView;
  /** Forget Prob before and after the attack (attacks.json), or null with `scoresUnavailable`. */
  before: number | null;
  after: number | null;
  scoresUnavailable?: string;
}

const RECOVERED = '.recovered';
const isUnavailable = (r: TrialAttackRecord | undefined): r is { unavailable: string } => typeof (r as { unavailable?: unknown } | undefined)?.unavailable === 'string';

/**
 * The attacks of every finished trial that ran any: one row per (trial, attack), methods in
 * sweep order and each method's best trial first. The recovered fraction is sweep.json's (what
 * selection and comparison use); forget Prob before/after come from the trial's attack record
 * (`records[id]`), unavailable with the reason when there is none.
 */
export function attackRows(trials: readonly SweepTrialView[], best: readonly MethodBest[], records: Readonly<Record<string, TrialAttackRecord>> = {}): AttackRow[] {
  const bestIds = new Set(best.map((b) => b.best?.id).filter((id): id is string => id !== undefined));
  const methods = [...new Set(trials.map((t) => t.method))];
  const ordered = methods.flatMap((m) => {
    const mine = done(trials).filter((t) => t.method === m);
    return [...mine.filter((t) => bestIds.has(t.id)), ...mine.filter((t) => !bestIds.has(t.id))];
  });
  const rows: AttackRow[] = [];
  for (const t of ordered) {
    const record = records[t.id];
    const missing = isUnavailable(record) ? record.unavailable : undefined;
    const scores = record && !isUnavailable(record) ? record : undefined;
    const fromMetrics = Object.keys(t.metrics ?? {}).filter((k) => k.endsWith(RECOVERED)).map((k) => k.slice(0, -RECOVERED.length));
    const attacks = [...new Set([...fromMetrics, ...Object.keys(scores ?? {})])];
    for (const attack of attacks) {
      const s = scores?.[attack];
      const why = s ? undefined : (missing ?? 'no attack record for this trial in this folder');
      rows.push({
        trial: t,
        attack,
        best: bestIds.has(t.id),
        recovered: t.metrics?.[attack + RECOVERED] ?? { value: null, unavailable: `sweep.json has no ${attack}${RECOVERED} for this trial` },
        before: s?.before.forgetProb ?? null,
        after: s?.after.forgetProb ?? null,
        ...(why ? { scoresUnavailable: why } : s && (s.before.forgetProb == null || s.after.forgetProb == null) ? { scoresUnavailable: 'forget Prob was not measured by this attack' } : {}),
      });
    }
  }
  return rows;
}
