/**
 * HTML sections for a sweep, to sit beside the report's run tables: the Pareto front, the best
 * trial per method under the selection rule, the spread over seeds and the sensitivity table.
 * Every string from the sweep file (names, parameter values, ids, reasons) is escaped; numbers go
 * through the report's formats. Markup follows html.ts (section > h2 + p.help + div.scroll > table)
 * so the page's style applies.
 */
import { escapeHtml as esc, formatNumber, type NumberFormat } from './format.ts';
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
    a.pareto.length ? table(['trial', 'method', 'setting', 'seed', ...metricHead], a.pareto.map((t) => trialCells(t) + metricCells(t))) : '<p>No finished trial has both metrics.</p>',
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
