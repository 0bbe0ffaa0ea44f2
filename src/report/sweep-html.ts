/**
 * HTML sections for a sweep, to sit beside the report's run tables: the Pareto front, the best
 * trial per method under the selection rule, the spread over seeds and the sensitivity table.
 * Every string from the sweep file (names, parameter values, ids, reasons) is escaped; numbers go
 * through the report's formats. Markup follows html.ts (section > h2 + p.help + div.scroll > table)
 * so the page's style applies.
 */
import { escapeHtml as esc, formatNumber, type NumberFormat } from './format.ts';
import { elsewhereNote, type LogElsewhere } from './html.ts';
import { PAGE_STYLE } from './page-style.ts';
import { attackRows, FORGET_QUALITY, MODEL_UTILITY, type AttackRow, type ParamValue, type ReferencePoint, type TrialAttackRecord, type SelectionRuleView, type Spread, type SweepAnalysis, type SweepMetricView, type SweepTrialView } from './sweep-analysis.ts';

const formatFor = (metric: string): NumberFormat => (metric === FORGET_QUALITY ? 'scientific' : 'fixed');

function table(head: string[], rows: string[]): string {
  return `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join('\n')}</tbody></table></div>`;
}

function section(id: string, title: string, help: string, body: string): string {
  return `<section id="${esc(id)}"><h2>${esc(title)}</h2><p class="help">${esc(help)}</p>${body}</section>`;
}

/** A metric with its interval, or "unavailable" with the reason as tooltip. */
function metricCell(m: SweepMetricView | undefined, metric: string): string {
  if (!m) return '<td class="missing" title="not measured">—</td>';
  if (m.value === null) return `<td class="unavailable"><span title="${esc(m.unavailable ?? 'no reason given')}">unavailable</span></td>`;
  const f = formatFor(metric);
  const interval = m.interval ? ` [${formatNumber(m.interval[0], f)}, ${formatNumber(m.interval[1], f)}]` : '';
  return `<td class="num" title="${esc(String(m.value))}">${esc(formatNumber(m.value, f) + interval)}</td>`;
}

const paramText = (params: Record<string, ParamValue>) => Object.entries(params).map(([k, v]) => `${k}=${String(v)}`).join(', ') || '(defaults)';

function trialCells(t: SweepTrialView): string {
  return `<th scope="row"><code>${esc(t.id)}</code></th><td>${esc(t.method)}</td><td>${esc(paramText(t.params))}</td><td class="num">${esc(String(t.seed))}</td>`;
}

export function ruleText(rule: SelectionRuleView): string {
  const parts = rule.constraints.map((c) => {
    const of = c.of === 'target' ? ' × the target’s' : '';
    return [c.atLeast !== undefined ? `${c.metric} ≥ ${c.atLeast}${of}` : '', c.atMost !== undefined ? `${c.metric} ≤ ${c.atMost}${of}` : ''].filter(Boolean).join(' and ');
  });
  return `highest ${rule.maximize}${parts.length ? ` with ${parts.join(' and ')}` : ''}`;
}

function spreadText(s: Spread | null, metric: string): string {
  if (!s) return 'unavailable';
  const f = formatFor(metric);
  return s.sd === null ? `${formatNumber(s.mean, f)} (1 seed)` : `${formatNumber(s.mean, f)} ± ${formatNumber(s.sd, f)}`;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const TARGET_COLOUR = '#111';
const RETAIN_COLOUR = '#1a9641';

/** Tick step giving at most `max` intervals over `span`: 1, 2, 2.5 or 5 × a power of ten. */
function niceStep(span: number, max: number): number {
  const raw = span / max;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw - 1e-12) ?? 10 * p;
}

/**
 * The utility axis: the values' range widened to whole tenths; a utility is in [0, 1], so when
 * every value is the same (a degenerate range) the axis is [0, 1] (or the value ± 0.5 outside it).
 */
export function utilityRange(values: readonly number[]): [number, number] {
  const [min, max] = [Math.min(...values), Math.max(...values)];
  let lo = Math.floor(min * 10 + 1e-9) / 10;
  let hi = Math.ceil(max * 10 - 1e-9) / 10;
  if (min >= 0) lo = Math.max(0, lo);
  if (max <= 1) hi = Math.min(1, hi);
  if (hi - lo > 1e-12) return [lo, hi];
  return min >= 0 && max <= 1 ? [0, 1] : [min - 0.5, max + 0.5];
}

/**
 * The forget-quality axis, in log10: from the decade at or below the smallest value to the
 * largest (at least 0, forget quality 1: the retain model's, the aim); one decade when all equal 1.
 */
export function forgetQualityRange(logs: readonly number[]): [number, number] {
  const hi = Math.max(0, Math.ceil(Math.max(...logs) - 1e-9));
  const lo = Math.min(hi - 1, Math.floor(Math.min(...logs) + 1e-9));
  return [lo, hi];
}

const plotted = (m: SweepMetricView | undefined): m is SweepMetricView & { value: number } => m !== undefined && m.value !== null;
const valueText = (m: SweepMetricView, metric: string) => (m.value === null ? `unavailable (${m.unavailable ?? 'no reason given'})` : m.value === 1 ? '1' : formatNumber(m.value, formatFor(metric)));

/**
 * Every finished trial as a point, log10 forget quality across, model utility up, coloured by
 * method, the front joined by a dashed line; the references (the target: where unlearning
 * starts; the retain reference: where it should go) as a black diamond and a green star, or, when
 * only the retain's forget quality is known (it is 1 by definition; its utility needs
 * generations a score-only evaluation does not make), a green line at forget quality 1. Trials
 * at the same place (within 3 px) are drawn once, with their count beside the point and every
 * trial in its title. Inline SVG (no script); a legend right of the plot.
 */
export function paretoSvg(a: SweepAnalysis, refs: readonly ReferencePoint[] = a.targets, all: readonly SweepTrialView[] = a.points): string {
  const pts = all.filter((t) => (t.metrics?.[FORGET_QUALITY]?.value ?? 0) > 0 && t.metrics?.[MODEL_UTILITY]?.value != null);
  if (pts.length === 0) return '';
  const fq = (t: SweepTrialView) => t.metrics![FORGET_QUALITY].value!;
  const mu = (t: SweepTrialView) => t.metrics![MODEL_UTILITY].value!;
  const points = refs.filter((r) => plotted(r.forgetQuality) && r.forgetQuality.value > 0 && plotted(r.modelUtility));
  const lines = refs.filter((r) => !points.includes(r) && plotted(r.forgetQuality) && r.forgetQuality.value > 0);
  const [W, H, L, B, P, LEGEND] = [640, 360, 64, 44, 14, 250];
  const [x0, x1] = forgetQualityRange([...pts.map(fq), ...points.map((r) => r.forgetQuality.value!), ...lines.map((r) => r.forgetQuality.value!)].map(Math.log10));
  const [y0, y1] = utilityRange([...pts.map(mu), ...points.map((r) => r.modelUtility.value!)]);
  const px = (v: number) => L + ((Math.log10(v) - x0) / (x1 - x0)) * (W - L - P);
  const py = (v: number) => H - B - ((v - y0) / (y1 - y0)) * (H - B - P);
  const f1 = (v: number) => v.toFixed(1);
  const methods = [...new Set(pts.map((t) => t.method))];
  const colour = (m: string) => PALETTE[methods.indexOf(m) % PALETTE.length];

  // Grid and axes: whole decades across (every k-th when there are many), tidy steps up.
  const xStep = Math.ceil((x1 - x0) / 8);
  const xTicks: number[] = [];
  for (let e = x1; e >= x0; e -= xStep) xTicks.unshift(e);
  const yStep = niceStep(y1 - y0, 5);
  const yTicks: number[] = [];
  for (let v = Math.ceil(y0 / yStep - 1e-9) * yStep; v <= y1 + 1e-9; v += yStep) yTicks.push(Number(v.toFixed(10)));
  const decade = (e: number) => (e === 0 ? '1' : `1e${e}`);
  const grid = xTicks.map((e) => { const x = f1(px(10 ** e)); return `<line x1="${x}" y1="${P}" x2="${x}" y2="${H - B}" stroke="#eee"/><text x="${x}" y="${H - B + 16}" font-size="11" text-anchor="middle">${decade(e)}</text>`; }).join('')
    + yTicks.map((v) => { const y = f1(py(v)); return `<line x1="${L}" y1="${y}" x2="${W - P}" y2="${y}" stroke="#eee"/><text x="${L - 5}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${esc(formatNumber(v, 'fixed').replace(/0+$/, '').replace(/\.$/, ''))}</text>`; }).join('');
  const axes = `<line x1="${L}" y1="${H - B}" x2="${W - P}" y2="${H - B}" stroke="#888"/><line x1="${L}" y1="${P}" x2="${L}" y2="${H - B}" stroke="#888"/>`
    + `<text x="${(L + W) / 2}" y="${H - 8}" font-size="12" text-anchor="middle">forget quality, log scale →</text>`
    + `<text x="14" y="${(H - B) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${(H - B) / 2})">model utility →</text>`;

  // Trials at the same place are one mark.
  const groups: { x: number; y: number; trials: SweepTrialView[] }[] = [];
  for (const t of pts) {
    const [x, y] = [px(fq(t)), py(mu(t))];
    const g = groups.find((q) => Math.abs(q.x - x) <= 3 && Math.abs(q.y - y) <= 3);
    if (g) g.trials.push(t);
    else groups.push({ x, y, trials: [t] });
  }
  const trialLine = (t: SweepTrialView) => `${t.id} ${t.method} ${paramText(t.params)} seed ${t.seed}: forget quality ${valueText(t.metrics![FORGET_QUALITY], FORGET_QUALITY)}, model utility ${valueText(t.metrics![MODEL_UTILITY], MODEL_UTILITY)}`;
  // A count label goes above right, below right, above left or below left of its mark, where it
  // covers no other label or mark and stays in the plot; else it is left out (the title has it).
  const taken = groups.map((g) => ({ x: g.x - 7, y: g.y - 7, w: 14, h: 14 }));
  const labelSpot = (x: number, y: number, w: number) => {
    const h = 13;
    const spot = [{ x: x + 8, y: y - 8 - h }, { x: x + 8, y: y + 8 }, { x: x - 8 - w, y: y - 8 - h }, { x: x - 8 - w, y: y + 8 }]
      .map((c) => ({ ...c, w, h: h }))
      .find((r) => r.x >= L && r.x + r.w <= W - P && r.y >= P && r.y + r.h <= H - B
        && !taken.some((t) => r.x < t.x + t.w && t.x < r.x + r.w && r.y < t.y + t.h && t.y < r.y + r.h));
    if (spot) taken.push(spot);
    return spot ?? null;
  };
  const dots = groups.map((g) => {
    const n = g.trials.length;
    const byMethod = methods.map((m) => [m, g.trials.filter((t) => t.method === m).length] as const).filter(([, k]) => k > 0);
    const title = `${n > 1 ? `${n} trials here:\n` : ''}${g.trials.map(trialLine).join('\n')}`;
    const r = n > 1 ? 6.5 : 4.5;
    // Trials of several methods at one place: a pie, one slice per method by its count.
    let start = -Math.PI / 2;
    const mark = byMethod.length === 1
      ? `<circle cx="${f1(g.x)}" cy="${f1(g.y)}" r="${r}" fill="${colour(byMethod[0][0])}" stroke="#fff"/>`
      : byMethod.map(([m, k]) => {
        const end = start + (2 * Math.PI * k) / n;
        const d = `M${f1(g.x)} ${f1(g.y)}L${f1(g.x + r * Math.cos(start))} ${f1(g.y + r * Math.sin(start))}A${r} ${r} 0 ${end - start > Math.PI ? 1 : 0} 1 ${f1(g.x + r * Math.cos(end))} ${f1(g.y + r * Math.sin(end))}Z`;
        start = end;
        return `<path d="${d}" fill="${colour(m)}" stroke="#fff" stroke-width="0.5"/>`;
      }).join('');
    const text = `${n} trials${byMethod.length > 1 ? ` (${byMethod.map(([m, k]) => `${m} ${k}`).join(', ')})` : ''}`;
    const spot = n > 1 ? labelSpot(g.x, g.y, text.length * 5.6) : null;
    const count = spot ? `<text x="${f1(spot.x)}" y="${f1(spot.y + 11)}" font-size="11" fill="#333">${esc(text)}</text>` : '';
    return `<g class="trial" data-trials="${n}"><title>${esc(title)}</title>${mark}${count}</g>`;
  }).join('');
  const front = a.pareto.filter((t) => pts.includes(t)).map((t) => `${f1(px(fq(t)))},${f1(py(mu(t)))}`).join(' ');

  const refData = (r: ReferencePoint) => `data-ref="${r.role}" data-forget-quality="${esc(String(r.forgetQuality.value))}" data-model-utility="${esc(String(r.modelUtility.value))}"`;
  const refTitle = (r: ReferencePoint) => esc(`${r.label}: forget quality ${valueText(r.forgetQuality, FORGET_QUALITY)}, model utility ${valueText(r.modelUtility, MODEL_UTILITY)}; ${r.source}`);
  const diamond = (x: number, y: number, s: number) => `M${f1(x)} ${f1(y - s)}L${f1(x + s)} ${f1(y)}L${f1(x)} ${f1(y + s)}L${f1(x - s)} ${f1(y)}Z`;
  const star = (x: number, y: number, s: number) => Array.from({ length: 10 }, (_, i) => {
    const [r, t] = [i % 2 === 0 ? s : s * 0.45, (Math.PI / 5) * i - Math.PI / 2];
    return `${i === 0 ? 'M' : 'L'}${f1(x + r * Math.cos(t))} ${f1(y + r * Math.sin(t))}`;
  }).join('') + 'Z';
  const shape = (r: ReferencePoint, x: number, y: number, s: number) => (r.role === 'target' ? diamond(x, y, s) : star(x, y, s * 1.3));
  const refColour = (r: ReferencePoint) => (r.role === 'target' ? TARGET_COLOUR : RETAIN_COLOUR);
  const refMarks = points.map((r) => `<path class="ref" ${refData(r)} d="${shape(r, px(r.forgetQuality.value!), py(r.modelUtility.value!), 7)}" fill="none" stroke="${refColour(r)}" stroke-width="2"><title>${refTitle(r)}</title></path>`).join('')
    + lines.map((r) => { const x = f1(px(r.forgetQuality.value!)); return `<line class="ref" ${refData(r)} x1="${x}" y1="${P}" x2="${x}" y2="${H - B}" stroke="${refColour(r)}" stroke-width="2.5" stroke-dasharray="2 3"><title>${refTitle(r)}</title></line>`; }).join('');

  // The legend in a column right of the plot, so it never covers a point.
  const entries: string[] = methods.map((m) => `<circle cx="${W + 16}" cy="0" r="4.5" fill="${colour(m)}"/><text x="${W + 28}" y="0" dominant-baseline="middle" font-size="12">${esc(m)}</text>`);
  for (const r of [...points, ...lines]) {
    const mark = points.includes(r) ? `<path d="${shape(r, W + 16, 0, 6)}" fill="none" stroke="${refColour(r)}" stroke-width="2"/>` : `<line x1="${W + 16}" y1="-7" x2="${W + 16}" y2="7" stroke="${refColour(r)}" stroke-width="2.5" stroke-dasharray="2 3"/>`;
    const what = r.role === 'target' ? `${r.label} (before unlearning)` : `${r.label} (the aim${points.includes(r) ? '' : ': FQ 1'})`;
    entries.push(`${mark}<text x="${W + 28}" y="0" dominant-baseline="middle" font-size="12">${esc(what)}</text>`);
  }
  if (front) entries.push(`<line x1="${W + 8}" y1="0" x2="${W + 24}" y2="0" stroke="#444" stroke-dasharray="4 3"/><text x="${W + 28}" y="0" dominant-baseline="middle" font-size="12">Pareto front</text>`);
  const legend = entries.map((e, i) => `<g transform="translate(0 ${P + 8 + i * 18})">${e}</g>`).join('');
  return `<div class="chart"><svg xmlns="http://www.w3.org/2000/svg" width="${W + LEGEND}" height="${H}" role="img" aria-label="forget quality against model utility, every trial, with the target and the retain reference">${grid}${axes}<polyline points="${front}" fill="none" stroke="#444" stroke-dasharray="4 3"/>${dots}${refMarks}${legend}</svg></div>`;
}

/** The references in words under the plot: their values and sources, and any that could not be drawn, with why. */
function referencesNote(refs: readonly ReferencePoint[], retainMissing: string | undefined): string {
  const items = refs.map((r) => `<li>${esc(`${r.label}: forget quality ${valueText(r.forgetQuality, FORGET_QUALITY)}, model utility ${valueText(r.modelUtility, MODEL_UTILITY)}; ${r.source}.`)}</li>`);
  if (retainMissing) items.push(`<li>${esc(`retain reference: not shown (${retainMissing}).`)}</li>`);
  return items.length ? `<ul class="note refs">${items.join('')}</ul>` : '';
}

/** Per trial (each method's best first) and attack: forget Prob before and after the attack and the part of the target's knowledge it brought back. */
function attacksSection(rows: readonly AttackRow[]): string {
  if (rows.length === 0) return '';
  const prob = (v: number | null, why: string | undefined) => (v === null ? `<td class="unavailable"><span title="${esc(why ?? 'not measured')}">unavailable</span></td>` : `<td class="num">${esc(formatNumber(v, 'fixed'))}</td>`);
  const recovered = (m: SweepMetricView) => (m.value === null ? `<td class="unavailable"><span title="${esc(m.unavailable ?? 'no reason given')}">unavailable</span></td>` : `<td class="num" title="${esc(String(m.value))}">${esc(formatNumber(m.value, 'percent'))}</td>`);
  const body = rows.map((r) => `<th scope="row"><code>${esc(r.trial.id)}</code>${r.best ? '<span class="badge" title="its method’s pick under the selection rule">best</span>' : ''}</th><td>${esc(r.trial.method)}</td><td>${esc(paramText(r.trial.params))}</td><td class="num">${esc(String(r.trial.seed))}</td><td>${esc(r.attack)}</td>${prob(r.before, r.scoresUnavailable)}${prob(r.after, r.scoresUnavailable)}${recovered(r.recovered)}`);
  return section('sweep-attacks', 'Robustness attacks', 'Attacks that try to bring the forgotten knowledge back, on every trial (each method’s best first). Recovered = (after − before) / (target − before) on forget Prob: 0% means the forgetting held, 100% that the target’s knowledge came back. Hover an “unavailable” for why.',
    table(['trial', 'method', 'setting', 'seed', 'attack', 'forget Prob before', 'forget Prob after', 'recovered'], body));
}

/** What the sweep's sections show beyond sweep.json: read from the sweep folder by the pipeline (sweep-report.ts). */
export interface SweepExtras {
  /** The retain reference (from its results in the sweep folder), or why it is not there. */
  retain?: ReferencePoint | { unavailable: string };
  /** Each trial's attack record (its attacks.json), or why it cannot be read here. */
  attacks?: Readonly<Record<string, TrialAttackRecord>>;
}

/** The sweep's sections as one HTML fragment. */
export function renderSweepSections(a: SweepAnalysis, extras: SweepExtras = {}): string {
  const retain = extras.retain && 'role' in extras.retain ? extras.retain : undefined;
  const retainMissing = extras.retain && !('role' in extras.retain) ? extras.retain.unavailable : undefined;
  const refs = [...a.targets, ...(retain ? [retain] : [])];
  const c = a.counts;
  const status = `${c.done} of ${c.total} trials finished${c.failed ? `, ${c.failed} failed` : ''}${c.unfinished ? `, ${c.unfinished} not finished` : ''}.`;
  const metricHead = ['forget quality', 'model utility'];
  const metricCells = (t: SweepTrialView) => metricCell(t.metrics?.[FORGET_QUALITY], FORGET_QUALITY) + metricCell(t.metrics?.[MODEL_UTILITY], MODEL_UTILITY);

  const pareto = section(
    'sweep-pareto',
    `Sweep ${a.name}: Pareto front`,
    `${status} The trials no other trial beats on both forget quality and model utility (higher is better for both), by forget quality.`,
    a.pareto.length ? paretoSvg(a, refs) + referencesNote(refs, retainMissing) + table(['trial', 'method', 'setting', 'seed', ...metricHead], a.pareto.map((t) => trialCells(t) + metricCells(t))) : '<p>No finished trial has both metrics.</p>',
  );

  const best = section(
    'sweep-best',
    'Best trial per method',
    `Selection rule: ${ruleText(a.selection)}. The target’s values are those each trial measured on the same evaluated data.`,
    table(
      ['method', 'trial', 'setting', 'seed', ...metricHead, 'meets the rule'],
      a.best.map((b) =>
        b.best
          ? `<th scope="row">${esc(b.method)}</th><td><code>${esc(b.best.id)}</code></td><td>${esc(paramText(b.best.params))}</td><td class="num">${esc(String(b.best.seed))}</td>${metricCells(b.best)}<td class="num">${b.passing} of ${b.finished}</td>`
          : `<th scope="row">${esc(b.method)}</th><td colspan="6">no trial meets the rule</td><td class="num">${b.passing} of ${b.finished}</td>`,
      ),
    ),
  );

  const spread = section(
    'sweep-seeds',
    'Spread over seeds',
    'Each setting over its seeds (how many, and which): mean ± sample standard deviation, and how many seeds meet the selection rule.',
    table(
      ['method', 'setting', 'seeds', 'forget quality', 'model utility', 'passes'],
      a.spread.map((s) => `<th scope="row">${esc(s.method)}</th><td>${esc(paramText(s.params))}</td><td>${esc(`${s.seeds.length} (${s.seeds.join(', ')})`)}</td><td class="num">${esc(spreadText(s.metrics[FORGET_QUALITY] ?? null, FORGET_QUALITY))}</td><td class="num">${esc(spreadText(s.metrics[MODEL_UTILITY] ?? null, MODEL_UTILITY))}</td><td class="num">${s.passes} of ${s.of}</td>`),
    ),
  );

  const sens = section(
    'sweep-sensitivity',
    'Sensitivity',
    'Per method and swept parameter: the mean metric at each value of the parameter (over the other parameters and the seeds), the range of those means, and the share of the metric’s variance the parameter explains (η²). Forget quality enters as log10: a range of 2 is a hundredfold.',
    a.sensitivity.length
      ? table(
          ['method', 'parameter', 'metric', 'mean at each value', 'range', 'share of variance'],
          a.sensitivity.map((s) => {
            const f: NumberFormat = 'fixed';
            const levels = s.levels.map((l) => `${String(l.value)}: ${formatNumber(l.mean, f)}`).join('; ');
            return `<th scope="row">${esc(s.method)}</th><td>${esc(s.param)}</td><td>${esc(s.scale === 'log10' ? `log10 ${s.metric}` : s.metric)}</td><td>${esc(levels)}</td><td class="num">${esc(formatNumber(s.range, f))}</td><td class="num">${s.share === null ? 'unavailable' : esc(formatNumber(s.share, 'percent'))}</td>`;
          }),
        )
      : '<p>No parameter took two or more values among finished trials.</p>',
  );

  const failed = a.failed.length
    ? section('sweep-failed', 'Failed trials', 'Trials that did not finish, with the reason.', table(['trial', 'method', 'setting', 'seed', 'reason'], a.failed.map((t) => `${trialCells(t)}<td>${esc(t.error ?? 'no reason given')}</td>`)))
    : '';
  const attacks = attacksSection(attackRows(a.points, a.best, extras.attacks));
  return [pareto, best, spread, sens, attacks, failed].filter(Boolean).join('\n');
}

/**
 * A page of its own for a sweep folder (`lethe report DIR` when DIR holds sweep.json but no
 * trial's evaluation: a queued sweep whose trial folders stay on the workers), with the report's
 * style and its Content-Security-Policy (no network, no script needed). `logsElsewhere` names each
 * trial whose training log is on a worker, once.
 */
export function renderSweepPage(a: SweepAnalysis, now = new Date(), options: { extras?: SweepExtras; logsElsewhere?: readonly LogElsewhere[] } = {}): string {
  const logs = options.logsElsewhere?.length
    ? `<section id="training"><h2>Training curves</h2><p class="help">Each trial’s training log (log.jsonl) is in its trial folder; none is in this sweep folder.</p>${elsewhereNote(options.logsElsewhere)}</section>`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`lethe sweep report: ${a.name}`)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header><h1>lethe sweep report</h1><p class="help">${esc(`${a.name}: ${a.counts.total} trials. Generated ${now.toISOString()}.`)}</p></header>
<main>
${renderSweepSections(a, options.extras)}
${logs}
</main>
</body>
</html>
`;
}
