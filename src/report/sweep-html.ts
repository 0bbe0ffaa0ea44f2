/**
 * HTML sections for a sweep, to sit beside the report's run tables: the Pareto front, the best
 * trial per method under the selection rule, the spread over seeds and the sensitivity table.
 * Every string from the sweep file (names, parameter values, ids, reasons) is escaped; numbers go
 * through the report's formats. Markup follows html.ts (section > h2 + p.help + div.scroll > table)
 * so the page's style applies.
 */
import { escapeHtml as esc, formatNumber, type NumberFormat } from './format.ts';
import { PAGE_STYLE } from './page-style.ts';
import { FORGET_QUALITY, MODEL_UTILITY, type ParamValue, type SelectionRuleView, type Spread, type SweepAnalysis, type SweepMetricView, type SweepTrialView } from './sweep-analysis.ts';

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

/**
 * Every finished trial as a point, log10 forget quality across, model utility up, coloured by
 * method; the front joined by a line. Inline SVG (no script), each point titled with its trial.
 */
export function paretoSvg(a: SweepAnalysis, all: readonly SweepTrialView[] = a.points): string {
  const pts = all.filter((t) => (t.metrics?.[FORGET_QUALITY]?.value ?? 0) > 0 && t.metrics?.[MODEL_UTILITY]?.value != null);
  if (pts.length === 0) return '';
  const x = (t: SweepTrialView) => Math.log10(t.metrics![FORGET_QUALITY].value!);
  const y = (t: SweepTrialView) => t.metrics![MODEL_UTILITY].value!;
  const [W, H, L, B, P] = [640, 360, 56, 40, 12];
  const span = (vs: number[]) => {
    const lo = Math.min(...vs);
    const hi = Math.max(...vs);
    return hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5];
  };
  const [x0, x1] = span(pts.map(x));
  const [y0, y1] = span(pts.map(y));
  const px = (v: number) => L + ((v - x0) / (x1 - x0)) * (W - L - P);
  const py = (v: number) => H - B - ((v - y0) / (y1 - y0)) * (H - B - P);
  const methods = [...new Set(pts.map((t) => t.method))];
  const colour = (m: string) => PALETTE[methods.indexOf(m) % PALETTE.length];
  const front = a.pareto.filter((t) => pts.includes(t)).map((t) => `${px(x(t)).toFixed(1)},${py(y(t)).toFixed(1)}`).join(' ');
  const dots = pts.map((t) => `<circle cx="${px(x(t)).toFixed(1)}" cy="${py(y(t)).toFixed(1)}" r="4" fill="${colour(t.method)}"><title>${esc(`${t.id} ${t.method} ${paramText(t.params)} seed ${t.seed}`)}</title></circle>`).join('');
  // The legend in a column right of the plot, so it never covers a point.
  const legend = methods.map((m, i) => `<text x="${W + 10}" y="${P + 14 + i * 16}" fill="${colour(m)}" font-size="12">● ${esc(m)}</text>`).join('');
  const axes = `<line x1="${L}" y1="${H - B}" x2="${W - P}" y2="${H - B}" stroke="#888"/><line x1="${L}" y1="${P}" x2="${L}" y2="${H - B}" stroke="#888"/>`
    + `<text x="${L}" y="${H - B + 16}" font-size="11">${esc(x0.toFixed(1))}</text><text x="${W - P}" y="${H - B + 16}" font-size="11" text-anchor="end">${esc(x1.toFixed(1))}</text>`
    + `<text x="${(L + W) / 2}" y="${H - 6}" font-size="12" text-anchor="middle">log10 forget quality →</text>`
    + `<text x="${L - 4}" y="${H - B}" font-size="11" text-anchor="end">${esc(formatNumber(y0, 'fixed'))}</text><text x="${L - 4}" y="${P + 8}" font-size="11" text-anchor="end">${esc(formatNumber(y1, 'fixed'))}</text>`
    + `<text x="14" y="${(H - B) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${(H - B) / 2})">model utility →</text>`;
  return `<div class="chart"><svg xmlns="http://www.w3.org/2000/svg" width="${W + 140}" height="${H}" role="img" aria-label="forget quality against model utility, every trial">${axes}<polyline points="${front}" fill="none" stroke="#444" stroke-dasharray="4 3"/>${dots}${legend}</svg></div>`;
}

/** The sweep's sections as one HTML fragment. */
export function renderSweepSections(a: SweepAnalysis): string {
  const c = a.counts;
  const status = `${c.done} of ${c.total} trials finished${c.failed ? `, ${c.failed} failed` : ''}${c.unfinished ? `, ${c.unfinished} not finished` : ''}.`;
  const metricHead = ['forget quality', 'model utility'];
  const metricCells = (t: SweepTrialView) => metricCell(t.metrics?.[FORGET_QUALITY], FORGET_QUALITY) + metricCell(t.metrics?.[MODEL_UTILITY], MODEL_UTILITY);

  const pareto = section(
    'sweep-pareto',
    `Sweep ${a.name}: Pareto front`,
    `${status} The trials no other trial beats on both forget quality and model utility (higher is better for both), by forget quality.`,
    a.pareto.length ? paretoSvg(a) + table(['trial', 'method', 'setting', 'seed', ...metricHead], a.pareto.map((t) => trialCells(t) + metricCells(t))) : '<p>No finished trial has both metrics.</p>',
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
    'Each setting over its seeds: mean ± sample standard deviation, and how many seeds meet the selection rule.',
    table(
      ['method', 'setting', 'seeds', 'forget quality', 'model utility', 'passes'],
      a.spread.map((s) => `<th scope="row">${esc(s.method)}</th><td>${esc(paramText(s.params))}</td><td>${esc(s.seeds.join(', '))}</td><td class="num">${esc(spreadText(s.metrics[FORGET_QUALITY] ?? null, FORGET_QUALITY))}</td><td class="num">${esc(spreadText(s.metrics[MODEL_UTILITY] ?? null, MODEL_UTILITY))}</td><td class="num">${s.passes} of ${s.of}</td>`),
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
  return [pareto, best, spread, sens, failed].filter(Boolean).join('\n');
}

/**
 * A page of its own for a sweep folder (`lethe report DIR` when DIR holds sweep.json), with the
 * report's style and its Content-Security-Policy (no network, no script needed).
 */
export function renderSweepPage(a: SweepAnalysis, now = new Date()): string {
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
${renderSweepSections(a)}
</main>
</body>
</html>
`;
}
