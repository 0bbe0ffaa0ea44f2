import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReport } from '../../src/report/html.ts';
import { scatterPoints } from '../../src/report/chart-data.ts';
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

test('a metric with an interval and n shows both: the value, [lower, upper] under it, n and the skipped count; the tooltip says how the interval was made', () => {
  const runs = exampleRuns();
  runs[2].results.metrics.tofu.forgetProb = {
    value: 0.2, perItem: [0.18, 0.25, 0.2, 0.22, 0.15], n: 5, skipped: { count: 2, reason: 'prompt does not fit the context' },
    interval: { lower: 0.17, upper: 0.23, level: 0.95, method: 'percentile bootstrap', resamples: 1000, seed: 0 },
  };
  const cell = row(section(renderReport(runs), 'results-tofu'), 'npo-forget10')[3];
  assert.match(cell, />0\.200<span class="ci">\[0\.170, 0\.230\]<\/span><span class="n">n = 5; 2 skipped<\/span><\/td>$/);
  assert.match(cell, /title="0\.2 \(5 items\); 95% percentile bootstrap over 1000 resamples \(seed 0\); 2 skipped: prompt does not fit the context"/);
  // Without an interval (a file from before intervals), n from the per-item values and no brackets.
  const target = row(section(renderReport(exampleRuns()), 'results-tofu'), 'npo-forget10')[1];
  assert.match(target, /<span class="n">n = 5<\/span>/);
  assert.doesNotMatch(target, /class="ci"/);
});

test('a text benchmark\'s main table has VerbMem and KnowMem, with n', () => {
  const runs = exampleRuns();
  runs[4].results.benchmark = { name: 'text', forgetSplit: 'forget.txt' };
  runs[4].results.metrics.muse.verbMem = { value: 0.116, n: 11, skipped: { count: 9, reason: 'too short for a 32-token prefix and 128-token continuation' }, interval: { lower: 0.071, upper: 0.162, level: 0.95, method: 'percentile bootstrap', resamples: 1000, seed: 0 } };
  const text = section(renderReport(runs), 'results-text');
  const header = text.slice(text.indexOf('<thead>'), text.indexOf('</thead>'));
  for (const label of ['VerbMem', 'KnowMem forget', 'KnowMem retain', 'PrivLeak']) assert.ok(header.includes(label), label);
  assert.match(row(text, 'simnpo-news')[1], />0\.116<span class="ci">\[0\.071, 0\.162\]<\/span><span class="n">n = 11; 9 skipped<\/span>/);
});

test('the forget-quality/utility plot gets error bars: each point carries its 95% intervals (forget quality clipped above 0 for the log axis)', () => {
  const runs = exampleRuns();
  runs[2].results.metrics.tofu.forgetQuality = { value: 0.0123, n: 5, interval: { lower: 0, upper: 0.2, level: 0.95, method: 'bias-shifted percentile bootstrap', resamples: 1000, seed: 0 } };
  runs[2].results.metrics.tofu.modelUtility = { value: 0.541, n: 9, interval: { lower: 0.5, upper: 0.58, level: 0.95, method: 'percentile bootstrap', resamples: 1000, seed: 0 } };
  const { points } = scatterPoints(runs);
  const npo = points.find((p) => p.name === 'npo-forget10')!;
  assert.deepEqual(npo.modelUtilityInterval, [0.5, 0.58]);
  assert.equal(npo.forgetQualityInterval![1], 0.2);
  assert.ok(npo.forgetQualityInterval![0] > 0);
  // A run without intervals has no bars (nothing invented).
  assert.equal(points.find((p) => p.name === 'target')!.forgetQualityInterval, undefined);
  // The page's drawing code draws them.
  assert.match(renderReport(runs), /forgetQualityInterval/);
});

test('the data checks section lists overlong counts with file:line, overlaps and warnings; absent when there are none', () => {
  assert.ok(!renderReport(exampleRuns()).includes('id="data-checks"'));
  const runs = exampleRuns();
  runs[2].results.overlong = { forget: { policy: 'skip', skipped: 1, truncated: 0, items: [{ where: 'forget.jsonl:5', tokens: 1200, action: 'skipped' }] } };
  runs[2].results.overlap = [{ sets: ['forget', 'holdout'], count: 2, items: [{ first: { set: 'forget', index: 0, where: 'f.txt:1' }, second: { set: 'holdout', index: 3, where: 'h.txt:4' }, text: 'x' }] }];
  runs[2].results.warnings = ['--retain-results t.json: its role is target, not retain: …'];
  const checks = section(renderReport(runs), 'data-checks');
  assert.match(checks, /forget: 1 skipped \(longer than the context, --overlong skip; forget\.jsonl:5, 1200 tokens\)/);
  assert.match(checks, /forget and holdout share 2 items \(first: f\.txt:1 and h\.txt:4\)/);
  assert.match(checks, /its role is target, not retain/);
});

test('data checks: a notice shared by several runs is one row naming them (notices of the same runs share a row); a file path shows its base name, the full path in the title', () => {
  const runs = exampleRuns();
  const overlong = { forget: { policy: 'skip' as const, skipped: 1, truncated: 0, items: [{ where: '/data/tofu/forget10_perturbed.jsonl:9', tokens: 150, action: 'skipped' as const }] } };
  for (const run of runs) run.results.overlong = structuredClone(overlong);
  runs[3].results.warnings = ['--retain-results t.json: its role is target, not retain'];
  const checks = section(renderReport(runs), 'data-checks');
  const rows = checks.split('<tr>').slice(2);
  assert.equal(rows.length, 2);
  assert.match(rows[0], /<th scope="row" class="runs" title="target, retain, npo-forget10, ga-forget10, simnpo-news">all 5 runs<\/th>/);
  assert.match(rows[0], /forget: 1 skipped \(longer than the context, --overlong skip; <span class="file" title="\/data\/tofu\/forget10_perturbed\.jsonl:9">forget10_perturbed\.jsonl:9<\/span>, 150 tokens\)/);
  assert.match(rows[1], /<th scope="row" class="runs" title="ga-forget10">ga-forget10<\/th><td><ul><li>--retain-results t\.json: its role is target, not retain<\/li><\/ul>/);
  assert.equal(checks.match(/forget10_perturbed\.jsonl:9</g)?.length, 1, 'the shared notice is shown once');
  // Relative to baseDir when the file is inside it.
  const inside = section(renderReport(runs, '', { baseDir: '/data' }), 'data-checks');
  assert.match(inside, /title="\/data\/tofu\/forget10_perturbed\.jsonl:9">tofu\/forget10_perturbed\.jsonl:9</);
});

test('training curves: a run whose log is elsewhere (a sweep trial on a remote worker) is named once, with where its log is', () => {
  const runs = exampleRuns();
  const html = section(renderReport(runs, '', { logsElsewhere: [{ name: 'ga t1', why: 'ran on worker w:1; its folder is /w/trials/t1 there' }] }), 'training');
  assert.match(html, /<li>ga t1: ran on worker w:1; its folder is \/w\/trials\/t1 there<\/li>/);
  assert.equal(html.split('ga t1').length - 1, 1);
  // The target and the retain model are not expected to carry a training log; an unlearned run is.
  assert.match(html, /No training log: simnpo-news\./);
});
