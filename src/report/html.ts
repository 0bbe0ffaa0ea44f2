/**
 * The report: ONE self-contained HTML page comparing runs, readable offline. Tables are
 * rendered here (every string from a results file escaped); charts are drawn in the page by
 * uPlot, whose minified JS and CSS are inlined from node_modules at render time, from a JSON
 * block. A Content-Security-Policy forbids any network access from the page.
 */
import { attackBars, runCurves, scatterPoints, type ChartData } from './chart-data.ts';
import { chartLibrary } from './chart-library.ts';
import { CLIENT_SCRIPT } from './client-script.ts';
import { BENCHMARK_HELP, headlineColumns, type MetricColumn } from './columns.ts';
import { escapeHtml as esc, formatCount, formatNumber, formatSeconds, jsonForScript, type NumberFormat } from './format.ts';
import type { ReportRun } from './report-run.ts';
import type { BenchmarkName, MetricValue } from '../results/schema.ts';
import { LetheError } from '../engine/errors.ts';
import { PAGE_STYLE } from './page-style.ts';
import { mcSection } from './mc-section.ts';
import { basename, isAbsolute, relative } from 'node:path';

export type { ReportRun };

const BENCHMARK_TITLES: Record<BenchmarkName, string> = { tofu: 'TOFU', muse: 'MUSE', text: 'Text', mc: 'Multiple choice', qa: 'QA (TOFU metrics)' };

/**
 * A metric cell: the number with its 95% bootstrap interval under it and the items it was
 * computed on (n, and how many the protocol skipped), "unavailable" with the reason as tooltip,
 * or — when not measured.
 */
function metricCell(m: MetricValue | undefined, format: NumberFormat): string {
  if (m === undefined) return '<td class="missing" title="not measured">—</td>';
  if (m.value === null) {
    return `<td class="unavailable"><span title="${esc(m.unavailable ?? 'no reason given')}">unavailable</span></td>`;
  }
  // Files written before lethe recorded n still have their per-item values.
  const n = m.n ?? m.perItem?.length;
  const interval = m.interval && 'lower' in m.interval ? m.interval : undefined;
  const title = [
    `${m.value}${n !== undefined ? ` (${n} items)` : ''}`,
    interval ? `${Math.round(interval.level * 100)}% ${interval.method} over ${interval.resamples} resamples (seed ${interval.seed})${interval.note ? `; ${interval.note}` : ''}` : m.interval ? `no interval: ${(m.interval as { unavailable: string }).unavailable}` : '',
    m.skipped ? `${m.skipped.count} skipped: ${m.skipped.reason}` : '',
  ].filter((t) => t !== '').join('; ');
  const ci = interval ? `<span class="ci">[${esc(formatNumber(interval.lower, format))}, ${esc(formatNumber(interval.upper, format))}]</span>` : '';
  const count = n !== undefined ? `<span class="n">n = ${n}${m.skipped ? `; ${m.skipped.count} skipped` : ''}</span>` : '';
  return `<td class="num" title="${esc(title)}">${esc(formatNumber(m.value, format))}${ci}${count}</td>`;
}

function runCell(run: ReportRun): string {
  const role = run.results.role;
  return `<th scope="row">${esc(run.name)}${role ? ` <span class="role role-${esc(role)}">${esc(role)}</span>` : ''}</th>`;
}

function table(head: string[], rows: string[]): string {
  return `<div class="scroll"><table><thead><tr>${head.join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join('\n')}</tbody></table></div>`;
}

function section(id: string, title: string, help: string, body: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2><p class="help">${esc(help)}</p>${body}</section>`;
}

function overview(runs: readonly ReportRun[]): string {
  const rows = runs.map(({ name, results: r }) => {
    const b = r.benchmark;
    const options = r.method ? JSON.stringify(r.method.options) : '';
    return [
      `<th scope="row">${esc(name)}</th>`,
      `<td>${esc(r.model.name)}</td>`,
      `<td>${esc(r.role ?? '')}</td>`,
      `<td title="${esc(options)}">${esc(r.method?.name ?? '')}</td>`,
      `<td>${esc(`${BENCHMARK_TITLES[b.name]}${b.forgetSplit ? ` / ${b.forgetSplit}` : ''}`)}</td>`,
      `<td>${esc(r.createdAt)}</td>`,
      `<td>${esc(r.lethe)}</td>`,
    ].join('');
  });
  const head = ['run', 'model', 'role', 'method', 'benchmark / forget split', 'created', 'lethe'].map((h) => `<th>${h}</th>`);
  return section('runs', 'Runs', 'What each run is: the model, its role (target before unlearning, retain model trained without the forget set, unlearned, or an input-based baseline) and the method.', table(head, rows));
}

function benchmarkTables(runs: readonly ReportRun[]): string {
  const byBenchmark = new Map<BenchmarkName, ReportRun[]>();
  for (const run of runs) byBenchmark.set(run.results.benchmark.name, [...(byBenchmark.get(run.results.benchmark.name) ?? []), run]);
  return [...byBenchmark].map(([benchmark, group]) => {
    const columns = headlineColumns(benchmark, group.map((r) => r.results));
    const head = ['<th>run</th>', ...columns.map((c) => `<th title="${esc(c.help)}">${esc(c.label)}</th>`)];
    const rows = group.map((run) => runCell(run) + columns.map((c) => metricCell(run.results.metrics[c.family]?.[c.metric], c.format)).join(''));
    const body = table(head, rows) + columnHelp(columns) + allMetrics(group);
    return section(`results-${benchmark}`, `${BENCHMARK_TITLES[benchmark]} results`, BENCHMARK_HELP[benchmark], body);
  }).join('\n');
}

function columnHelp(columns: readonly MetricColumn[]): string {
  if (columns.length === 0) return '<p class="note">No headline metrics in these runs.</p>';
  return `<details><summary>What the columns mean</summary><dl>${columns.map((c) => `<dt>${esc(c.label)}</dt><dd>${esc(c.help)}</dd>`).join('')}</dl></details>`;
}

/** Every metric of every run (rows) by run (columns), for what the headline table leaves out. */
function allMetrics(group: readonly ReportRun[]): string {
  const keys = [...new Set(group.flatMap((run) => Object.entries(run.results.metrics).flatMap(([f, ms]) => Object.keys(ms).map((m) => `${f}.${m}`))))].sort();
  const head = ['<th>metric</th>', ...group.map((run) => `<th>${esc(run.name)}</th>`)];
  const rows = keys.map((key) => {
    const dot = key.indexOf('.');
    const [family, metric] = [key.slice(0, dot), key.slice(dot + 1)];
    const format: NumberFormat = metric === 'forgetQuality' ? 'scientific' : metric === 'privLeak' ? 'signed' : 'fixed';
    return `<th scope="row">${esc(key)}</th>` + group.map((run) => metricCell(run.results.metrics[family]?.[metric], format)).join('');
  });
  return `<details><summary>All metrics (${keys.length})</summary>${table(head, rows)}</details>`;
}

function scatterSection(runs: readonly ReportRun[]): string {
  if (!runs.some((r) => r.results.metrics.tofu !== undefined)) return '';
  const { points, left } = scatterPoints(runs);
  const chart = points.length > 0 ? '<div class="chart" id="chart-scatter"></div>' : '<p class="note">No run has both numbers to plot.</p>';
  const notPlotted = left.length === 0 ? '' : `<p class="note">Not plotted: ${left.map((l) => `${esc(l.name)} (${esc(l.why)})`).join('; ')}.</p>`;
  return section('tradeoff', 'Forget quality vs model utility', 'Each point is a run. Top right is best: forget quality near the retain model’s (1) and utility kept; the retain model marks the aim, the target the starting point.', chart + notPlotted);
}

function curvesSection(runs: readonly ReportRun[], elsewhere: readonly LogElsewhere[]): string {
  const curves = runCurves(runs);
  // A reference (target, retain model) without a log is as expected (it was trained elsewhere, or by `lethe train` in another folder): not listed.
  const isReference = (r: ReportRun) => r.results.role === 'target' || r.results.role === 'retain';
  const without = runs.filter((r) => !isReference(r) && !curves.some((c) => c.name === r.name) && !elsewhere.some((e) => e.name === r.name)).map((r) => esc(r.name));
  const charts = curves.map((c, i) => `<h3>${esc(c.name)}</h3><div class="pair">${hasSeries(c.train) ? `<div class="chart" id="chart-train-${i}"></div>` : ''}${hasSeries(c.eval) ? `<div class="chart" id="chart-eval-${i}"></div>` : ''}</div>`).join('\n');
  const note = without.length > 0 ? `<p class="note">No training log: ${without.join(', ')}.</p>` : '';
  return section('training', 'Training curves', 'Loss per step from log.jsonl, and the evaluation probes. A forget loss that keeps falling without bound (GA) and a retain loss that climbs mean the model is being damaged, not just forgetting.', charts + note + elsewhereNote(elsewhere));
}

/** Runs whose training log is kept elsewhere (a sweep trial run on a remote worker), each named once with where its log is. */
export function elsewhereNote(elsewhere: readonly LogElsewhere[]): string {
  if (elsewhere.length === 0) return '';
  return `<p class="note">Training log not in this folder: </p><ul class="note">${elsewhere.map((e) => `<li>${esc(e.name)}: ${esc(e.why)}</li>`).join('')}</ul>`;
}

const hasSeries = (curves: { step: number[]; series: object }): boolean => curves.step.length > 0 && Object.keys(curves.series).length > 0;

function attacksSection(runs: readonly ReportRun[]): string {
  const rows = runs.flatMap((run) => Object.entries(run.results.attacks ?? {}).map(([attack, a]) => {
    const other = [...new Set([...Object.keys(a.before), ...Object.keys(a.after)])].filter((k) => k !== 'forgetProb');
    const others = other.map((k) => `${k} ${score(a.before[k])} → ${score(a.after[k])}`).join('; ');
    return runCell(run) + `<td>${esc(attack)}</td><td class="num">${score(a.before.forgetProb)}</td><td class="num">${score(a.after.forgetProb)}</td>`
      + (a.recovered === null ? '<td class="missing" title="undefined: no target value, or nothing was forgotten">—</td>' : `<td class="num">${esc(formatNumber(a.recovered, 'percent'))}</td>`)
      + `<td class="small">${esc(others)}</td>`;
  }));
  if (rows.length === 0) return '';
  const head = ['run', 'attack', 'forget Prob before', 'forget Prob after', 'recovered', 'other scores (before → after)'].map((h) => `<th>${h}</th>`);
  return section('attacks', 'Robustness attacks', 'Attacks that try to bring the forgotten knowledge back (relearning, quantization, prompt attacks). Recovered = (after − before) / (target − before) on forget Prob (on forget-side accuracy for relearn_mc, the relearning attack measured by multiple choice): 0% means the forgetting held, 100% that the target’s knowledge came back.',
    table(head, rows) + '<div class="chart" id="chart-attacks"></div>');
}

const score = (v: number | null | undefined): string => (v == null ? '—' : esc(formatNumber(v, 'fixed')));

/**
 * A data file's place ("path:line") as the reader wants it: the path relative to `baseDir` when
 * the file is inside it, else its base name, the full path in the title.
 */
function fileRef(where: string, baseDir: string | undefined): string {
  const m = /^(.*?)(:\d+)?$/.exec(where)!;
  const [path, line] = [m[1], m[2] ?? ''];
  const rel = baseDir !== undefined && isAbsolute(path) ? relative(baseDir, path) : '';
  const shown = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : basename(path);
  return shown === path ? esc(where) : `<span class="file" title="${esc(where)}">${esc(shown + line)}</span>`;
}

/**
 * The data notices of one run as HTML list items (escaped; file paths shortened by fileRef):
 * items longer than the context, sets that share items, warnings.
 */
function dataNotes(r: ReportRun['results'], baseDir: string | undefined): string[] {
  const notes: string[] = [];
  const ref = (where: string) => fileRef(where, baseDir);
  for (const [set, o] of Object.entries(r.overlong ?? {})) {
    const counts = [o.skipped ? `${o.skipped} skipped` : '', o.truncated ? `${o.truncated} truncated` : ''].filter(Boolean).join(', ');
    const items = o.items.slice(0, 3).map((i) => `${ref(i.where)}, ${i.tokens} tokens`).join('; ');
    notes.push(`${esc(`${set}: ${counts} (longer than the context, --overlong ${o.policy}; `)}${items}${o.items.length > 3 ? '; …' : ''})`);
  }
  for (const o of r.overlap ?? []) {
    notes.push(`${esc(`${o.sets[0]} and ${o.sets[1]} share ${o.count} item${o.count === 1 ? '' : 's'} (first: `)}${ref(o.items[0].first.where)} and ${ref(o.items[0].second.where)}); the metrics they invalidate are unavailable`);
  }
  for (const w of r.warnings ?? []) if (!w.startsWith('--overlong') && !w.startsWith('--allow-overlap')) notes.push(esc(w));
  return notes;
}

/**
 * What the reader must know about the data behind each run's numbers: items longer than the
 * context (skipped or truncated, per set, with the first file:line), sets that share items
 * (run with --allow-overlap) and warnings (a reference whose role is not retain). A notice is
 * shown once, in a row naming every run it applies to (notices shared by the same runs share the
 * row), so a sweep's trials on the same data do not repeat it. Empty when no run has any.
 */
function dataChecksSection(runs: readonly ReportRun[], baseDir: string | undefined): string {
  const runsOf = new Map<string, string[]>();
  for (const run of runs) {
    for (const note of new Set(dataNotes(run.results, baseDir))) runsOf.set(note, [...(runsOf.get(note) ?? []), run.name]);
  }
  if (runsOf.size === 0) return '';
  // Notes that apply to the same runs share a row, rows in order of first appearance.
  const rows = new Map<string, { names: string[]; notes: string[] }>();
  for (const [note, names] of runsOf) {
    const key = JSON.stringify(names);
    if (!rows.has(key)) rows.set(key, { names, notes: [] });
    rows.get(key)!.notes.push(note);
  }
  const who = (names: string[]) => (names.length === runs.length && runs.length > 1 ? `all ${runs.length} runs` : names.join(', '));
  const body = [...rows.values()].map(({ names, notes }) => `<th scope="row" class="runs" title="${esc(names.join(', '))}">${esc(who(names))}</th><td><ul>${notes.map((n) => `<li>${n}</li>`).join('')}</ul></td>`);
  return section('data-checks', 'Data checks', 'Items left out or cut because they are longer than the model’s context, sets that share items, and references that are not retain models: read the numbers above with these in mind. A notice shared by several runs is shown once; hover a file name for its full path.', table(['<th>runs</th>', '<th>what</th>'], body));
}

function efficiencySection(runs: readonly ReportRun[]): string {
  const rows = runs.map((run) => {
    const e = run.results.efficiency;
    const perSecond = e.wallSeconds > 0 ? formatCount(e.tokens / e.wallSeconds) : '—';
    return runCell(run) + [formatSeconds(e.wallSeconds), formatCount(e.tokens), perSecond, formatCount(e.flops), `${Math.round(e.peakRssMiB).toLocaleString('en-US')} MiB`]
      .map((v) => `<td class="num">${esc(v)}</td>`).join('');
  });
  const head = ['run', 'wall time', 'tokens', 'tokens/s', 'FLOPs (est.)', 'peak memory'].map((h) => `<th>${h}</th>`);
  return section('efficiency', 'Efficiency', 'What each run cost: wall time, tokens processed, FLOPs estimated as 6·N per trained and 2·N per scored token (N parameters), and peak resident memory. Lower is cheaper.', table(head, rows));
}

/** A run whose training log is not where the report reads it, and where it is instead. */
export interface LogElsewhere {
  name: string;
  why: string;
}

export interface ReportOptions {
  /** File paths in the data checks are shown relative to this folder when inside it (else by base name); the full path is in the title. */
  baseDir?: string;
  /** Runs (or sweep trials without a run here) whose training log is elsewhere, said once each in the training curves section. */
  logsElsewhere?: readonly LogElsewhere[];
}

/**
 * Renders the runs as one self-contained HTML page; `extraSections` (HTML, already escaped, e.g.
 * a sweep's sections) go first. Throws LetheError for no runs.
 */
export function renderReport(runs: readonly ReportRun[], extraSections = '', options: ReportOptions = {}): string {
  if (runs.length === 0) throw new LetheError('report: no runs to report');
  const { js, css } = chartLibrary();
  const chartData: ChartData = { scatter: scatterPoints(runs).points, curves: runCurves(runs), attacks: attackBars(runs) };
  const title = `lethe report: ${runs.map((r) => r.name).join(', ')}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${css}</style>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header><h1>lethe report</h1><p class="help">${runs.length} run${runs.length === 1 ? '' : 's'}. Hover a header for what a metric means, an “unavailable” for why it could not be computed. Generated ${esc(new Date().toISOString())}.</p></header>
<main>
${extraSections}
${overview(runs)}
${benchmarkTables(runs)}
${mcSection(runs)}
${scatterSection(runs)}
${curvesSection(runs, options.logsElsewhere ?? [])}
${attacksSection(runs)}
${dataChecksSection(runs, options.baseDir)}
${efficiencySection(runs)}
</main>
<noscript><p class="note">The charts need JavaScript; the tables hold every number.</p></noscript>
<script type="application/json" id="lethe-data">${jsonForScript(chartData)}</script>
<script>${js}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}
