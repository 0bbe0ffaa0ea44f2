import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReport } from '../../src/report/html.ts';
import { exampleRuns, FQ_UNAVAILABLE } from './example-runs.ts';

const EVIL = `<img src=x onerror=alert(1)></script><b>"evil"</b>`;

/** The HTML of one section, by id. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}">`);
  assert.ok(start >= 0, `no section #${id}`);
  return html.slice(start, html.indexOf('</section>', start));
}

/** The cells of the first table row whose header is `name`, in the first table of `html`. */
function row(html: string, name: string): string[] {
  const table = html.slice(0, html.indexOf('</table>'));
  const start = table.indexOf(`<tr><th scope="row">${name}`);
  assert.ok(start >= 0, `no row ${name}`);
  return table.slice(start, table.indexOf('</tr>', start)).split(/(?=<t[dh][ >])/).slice(1);
}

test('the page has a section per part, a results table per benchmark, and every run', () => {
  const html = renderReport(exampleRuns());
  for (const id of ['runs', 'results-tofu', 'results-muse', 'tradeoff', 'training', 'attacks', 'efficiency']) section(html, id);
  for (const name of ['target', 'retain', 'npo-forget10', 'ga-forget10', 'simnpo-news']) assert.ok(html.includes(`>${name}`), name);
  const tofu = section(html, 'results-tofu');
  assert.ok(!tofu.includes('simnpo-news'), 'the MUSE run is not in the TOFU table');
  const header = tofu.slice(tofu.indexOf('<thead>'), tofu.indexOf('</thead>'));
  for (const label of ['Forget quality', 'Model utility', 'Forget Prob', 'Forget ROUGE', 'Truth ratio', 'Retain Prob', '>EM<', '>ES<', 'AUC LOSS', 'AUC Min-K%', 'AUC Ref', 'PrivLeak']) {
    assert.ok(header.includes(label), label);
  }
  assert.ok(section(html, 'results-muse').includes('KnowMem retain'));
});

test('numbers are formatted for reading: FQ in scientific notation, PrivLeak signed', () => {
  const tofu = section(renderReport(exampleRuns()), 'results-tofu');
  const target = row(tofu, 'target');
  assert.match(target[1], />4\.0e-25</);
  assert.match(target[1], /title="4e-25"/); // the full value on hover
  assert.match(target[2], />0\.630</);
  assert.match(row(tofu, 'npo-forget10')[1], />1\.2e-2</);
  assert.match(row(tofu, 'npo-forget10')[1], /title="0\.0123 \(5 items\)"/);
  assert.match(tofu, />−94\.1</);
  const efficiency = section(renderReport(exampleRuns()), 'efficiency');
  assert.match(row(efficiency, 'npo-forget10').join(''), />6 min 53 s<.*>1\.84 M<.*>4\.47 k<.*>1\.30 P<.*>2,310 MiB</);
});

test('an unavailable metric shows the reason, never a number', () => {
  const html = renderReport(exampleRuns());
  const fq = row(section(html, 'results-tofu'), 'ga-forget10')[1];
  assert.equal(fq, `<td class="unavailable"><span title="${FQ_UNAVAILABLE}">unavailable</span></td>`);
  // The reference AUC the NPO run could not compute, likewise.
  assert.match(row(section(html, 'results-tofu'), 'npo-forget10').join(''), /title="mia reference needs a reference model; none were given">unavailable</);
  // And the scatter says why the run is not on it.
  assert.match(section(html, 'tradeoff'), /Not plotted: ga-forget10 \(forget quality unavailable: forget quality needs/);
});

test('a metric not measured shows a dash, distinct from unavailable', () => {
  const runs = exampleRuns();
  delete runs[0].results.metrics.tofu.forgetRouge;
  const cells = row(section(renderReport(runs), 'results-tofu'), 'target');
  assert.equal(cells[4], '<td class="missing" title="not measured">—</td>');
});

test('strings from results are escaped: a malicious run, model and method name inject nothing', () => {
  const runs = exampleRuns();
  runs[2].name = EVIL;
  runs[2].results.model.name = '</script><script>alert(2)</script>';
  runs[2].results.method = { name: '"><svg onload=alert(3)>', options: { note: '</script>' } };
  const html = renderReport(runs);
  for (const raw of ['<img', '<b>', '<svg', 'alert(2)</script>']) assert.ok(!html.includes(raw), `raw ${raw} in the page`);
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&lt;b&gt;&quot;evil&quot;&lt;/b&gt;'));
  // Exactly the report's three scripts: chart data, uPlot, the drawing code.
  assert.equal(html.match(/<script/g)?.length, 3);
  assert.equal(html.match(/<\/script>/g)?.length, 3);
  // The chart data still carries the name intact for the browser to draw as text.
  const json = html.slice(html.indexOf('id="lethe-data">') + 16, html.indexOf('</script>'));
  assert.equal(JSON.parse(json).scatter.find((p: { name: string }) => p.name === EVIL)?.modelUtility, 0.541);
});

test('the page is self-contained: the chart library inlined, no network allowed', () => {
  const html = renderReport(exampleRuns());
  assert.ok(html.length > 50_000, 'uPlot is inlined');
  assert.ok(html.includes('uPlot'));
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
});

test('no runs is an error, not an empty page', () => {
  assert.throws(() => renderReport([]), /report: no runs to report/);
});
