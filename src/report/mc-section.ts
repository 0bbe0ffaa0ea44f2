// The multiple-choice part of the report (`lethe eval --benchmark mc` results): one table per set
// (each file, and each side's pool) with a row per run: acc with the harness's standard error
// and the bootstrap interval, acc_norm, acc_bytes, chance; then forget accuracy against retain
// accuracy across runs, drawn here as an inline SVG (no script needed), with chance marked on
// both axes. Capability unlearning succeeds when a run moves left toward forget-side chance
// while staying high.
import { escapeHtml as esc, formatNumber } from './format.ts';
import type { ReportRun } from './report-run.ts';
import type { McSetRecord } from '../results/schema.ts';

type Accuracy = McSetRecord['acc'];

function accuracyCell(a: Accuracy): string {
  if (a.value === null) return `<td class="unavailable"><span title="${esc(a.unavailable ?? 'no reason given')}">unavailable</span></td>`;
  const stderr = a.stderr === null ? '' : ` ± ${formatNumber(a.stderr, 'fixed')}`;
  const interval = a.interval && 'lower' in a.interval ? ` [${formatNumber(a.interval.lower, 'fixed')}, ${formatNumber(a.interval.upper, 'fixed')}]` : '';
  const title = `${a.value}; ± the harness's standard error${a.stderr === null ? ` (none: ${a.stderrUnavailable ?? ''})` : ''}; [95% bootstrap interval over items]`;
  return `<td class="num" title="${esc(title)}">${esc(formatNumber(a.value, 'fixed') + stderr + interval)}</td>`;
}

const setKey = (s: McSetRecord) => `${s.side}\u0000${s.name}`;

/** One table per multiple-choice set, rows by run; '' when no run has any. */
export function mcTables(runs: readonly ReportRun[]): string {
  const withMc = runs.filter((r) => r.results.multipleChoice !== undefined);
  if (withMc.length === 0) return '';
  const keys = [...new Set(withMc.flatMap((r) => r.results.multipleChoice!.sets.map(setKey)))];
  const head = ['run', 'items', 'acc ± stderr [95% CI]', 'acc_norm ± stderr', 'acc_bytes ± stderr', 'chance', 'tokenised unlike the harness'].map((h) => `<th>${h}</th>`).join('');
  const tables = keys.map((key) => {
    const [side, name] = key.split('\u0000');
    const rows = withMc.flatMap((run) => {
      const s = run.results.multipleChoice!.sets.find((x) => setKey(x) === key);
      if (!s) return [];
      return [`<tr><th scope="row">${esc(run.name)}</th><td class="num">${s.items}</td>${accuracyCell(s.acc)}${accuracyCell(s.accNorm)}${accuracyCell(s.accBytes)}`
        + `<td class="num">${s.chance === null ? '—' : esc(formatNumber(s.chance, 'fixed'))}</td><td class="num">${s.tokenisationMismatches}</td></tr>`];
    });
    return `<h3>${esc(side)} set: ${esc(name)}</h3><div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`;
  });
  return tables.join('\n');
}

export interface McPoint {
  name: string;
  forget: number;
  retain: number;
  forgetInterval?: [number, number];
  retainInterval?: [number, number];
}

/** Runs with both sides' pooled acc; the others with the reason. */
export function mcPoints(runs: readonly ReportRun[]): { points: McPoint[]; left: { name: string; why: string }[]; chance: { forget: number | null; retain: number | null } } {
  const points: McPoint[] = [];
  const left: { name: string; why: string }[] = [];
  const chance: { forget: number | null; retain: number | null } = { forget: null, retain: null };
  for (const run of runs) {
    const mc = run.results.multipleChoice;
    if (!mc) continue;
    const pool = (side: 'forget' | 'retain') => mc.sets.find((s) => s.side === side && s.pooled);
    const [f, r] = [pool('forget'), pool('retain')];
    chance.forget ??= f?.chance ?? null;
    chance.retain ??= r?.chance ?? null;
    if (f?.acc.value == null || r?.acc.value == null) {
      left.push({ name: run.name, why: `${f?.acc.value == null ? 'forget' : 'retain'}-side accuracy ${f === undefined || r === undefined ? 'not measured' : 'unavailable'}` });
      continue;
    }
    const ci = (a: Accuracy): [number, number] | undefined => (a.interval && 'lower' in a.interval ? [a.interval.lower, a.interval.upper] : undefined);
    points.push({ name: run.name, forget: f.acc.value, retain: r.acc.value, forgetInterval: ci(f.acc), retainInterval: ci(r.acc) });
  }
  return { points, left, chance };
}

/** Forget accuracy (x) vs retain accuracy (y), both on [0, 1], as an SVG with 95% intervals and chance lines. */
export function mcPlotSvg(points: readonly McPoint[], chance: { forget: number | null; retain: number | null }): string {
  const [w, h, m] = [420, 360, 48];
  const x = (v: number) => m + v * (w - 2 * m);
  const y = (v: number) => h - m - v * (h - 2 * m);
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [];
  parts.push(`<rect x="${m}" y="${m}" width="${w - 2 * m}" height="${h - 2 * m}" fill="none" stroke="#999"/>`);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<text x="${f(x(t))}" y="${h - m + 16}" text-anchor="middle" font-size="11">${t}</text>`);
    parts.push(`<text x="${m - 6}" y="${f(y(t) + 4)}" text-anchor="end" font-size="11">${t}</text>`);
  }
  parts.push(`<text x="${w / 2}" y="${h - 8}" text-anchor="middle" font-size="12">forget-side accuracy (acc)</text>`);
  parts.push(`<text x="14" y="${h / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${h / 2})">retain-side accuracy (acc)</text>`);
  if (chance.forget !== null) parts.push(`<line class="chance" x1="${f(x(chance.forget))}" y1="${m}" x2="${f(x(chance.forget))}" y2="${h - m}" stroke="#c33" stroke-dasharray="4 3"><title>forget-side chance ${chance.forget}</title></line>`);
  if (chance.retain !== null) parts.push(`<line class="chance" x1="${m}" y1="${f(y(chance.retain))}" x2="${w - m}" y2="${f(y(chance.retain))}" stroke="#c33" stroke-dasharray="4 3"><title>retain-side chance ${chance.retain}</title></line>`);
  for (const p of points) {
    if (p.forgetInterval) parts.push(`<line x1="${f(x(p.forgetInterval[0]))}" y1="${f(y(p.retain))}" x2="${f(x(p.forgetInterval[1]))}" y2="${f(y(p.retain))}" stroke="#36c"/>`);
    if (p.retainInterval) parts.push(`<line x1="${f(x(p.forget))}" y1="${f(y(p.retainInterval[0]))}" x2="${f(x(p.forget))}" y2="${f(y(p.retainInterval[1]))}" stroke="#36c"/>`);
    parts.push(`<circle class="run" cx="${f(x(p.forget))}" cy="${f(y(p.retain))}" r="4" fill="#36c"><title>${esc(`${p.name}: forget acc ${p.forget}, retain acc ${p.retain}`)}</title></circle>`);
    parts.push(`<text x="${f(x(p.forget) + 6)}" y="${f(y(p.retain) - 6)}" font-size="11">${esc(p.name)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" class="mc-plot" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="forget accuracy vs retain accuracy">${parts.join('')}</svg>`;
}

/** The report section: the tables and the plot; '' when no run has multiple-choice results. */
export function mcSection(runs: readonly ReportRun[]): string {
  const tables = mcTables(runs);
  if (tables === '') return '';
  const { points, left, chance } = mcPoints(runs);
  const plot = points.length > 0 ? mcPlotSvg(points, chance) : '<p class="note">No run has both a forget-side and a retain-side accuracy to plot.</p>';
  const notPlotted = left.length === 0 ? '' : `<p class="note">Not plotted: ${left.map((l) => `${esc(l.name)} (${esc(l.why)})`).join('; ')}.</p>`;
  const help = 'Multiple-choice accuracy scored as lm-evaluation-harness does (log-likelihood of each option as a continuation of the prompt): acc, acc_norm (normalised by the option’s length in characters, as the harness does), acc_bytes (by UTF-8 bytes), ± the harness’s standard error, [a 95% percentile bootstrap interval over items]. Good capability unlearning: forget-side accuracy down to chance, retain-side accuracy kept. The plot shows each run’s pooled accuracies with their intervals; dashed lines mark chance.';
  return `<section id="multiple-choice"><h2>Multiple choice</h2><p class="help">${esc(help)}</p>${tables}<h3>Forget accuracy vs retain accuracy</h3>${plot}${notPlotted}</section>`;
}
