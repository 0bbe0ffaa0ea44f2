// Opens a generated report in Debian's Chromium (driven by playwright-core) as a person would:
// no console or page errors, no request leaving the file, the tables and every chart drawn, and a
// screenshot kept for a person to look at. Without Chromium the test fails in CI (which installs
// it) and is skipped elsewhere with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { renderReport } from '../../src/report/html.ts';
import { exampleRuns } from './example-runs.ts';

const CHROMIUM = process.env.LETHE_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const EVIL = '<img src=x onerror=alert(1)>';

const missing = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium)`;

// Counts a canvas's coloured pixels, in the page: axes, grid and text are grey, so only the
// plotted series count. No named functions inside: tsx would wrap them in a helper the page
// does not have.
const colouredPixels = (canvas: HTMLCanvasElement): number => {
  const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 128 && Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 60) n++;
  }
  return n;
};

test('the report opens in Chromium without errors, with its tables and charts drawn', { skip: !process.env.CI && missing, timeout: 60_000 }, async (t) => {
  if (missing) assert.fail(`CI must run the browser test: ${missing}`);
  const dir = await mkdtemp(join(tmpdir(), 'lethe-report-browser-'));
  const runs = exampleRuns();
  runs.push({ ...runs[2], name: EVIL });
  // Error bars drawn for a run with intervals (forget quality's lower end at 0: clipped on the log axis).
  const iv = (lower: number, upper: number) => ({ lower, upper, level: 0.95, method: 'percentile bootstrap', resamples: 1000, seed: 0 });
  runs[1].results.metrics.tofu.forgetQuality = { ...runs[1].results.metrics.tofu.forgetQuality, n: 5, interval: iv(0, 1) };
  runs[1].results.metrics.tofu.modelUtility = { ...runs[1].results.metrics.tofu.modelUtility, n: 9, interval: iv(0.55, 0.66) };
  const file = join(dir, 'report.html');
  await writeFile(file, renderReport(runs));

  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); void d.dismiss(); });
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(file).href;
    await page.goto(url, { waitUntil: 'load' });

    // Tables: one row per run of each benchmark, the malicious name shown as text.
    assert.equal(await page.locator('#results-tofu table').first().locator('tbody tr').count(), 5);
    assert.equal(await page.locator('#results-muse table').first().locator('tbody tr').count(), 1);
    assert.equal(await page.locator('#efficiency tbody tr').count(), 6);
    assert.ok((await page.locator('#results-tofu tbody th').allTextContents()).some((s) => s.startsWith(EVIL)));
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('#results-tofu tbody tr', { hasText: 'ga-forget10' }).locator('td.unavailable span').first().getAttribute('title'),
      runs[3].results.metrics.tofu.forgetQuality.unavailable);

    // Charts: each container holds a uPlot canvas with its series drawn on it.
    const charts = ['chart-scatter', 'chart-train-0', 'chart-eval-0', 'chart-train-1', 'chart-attacks'];
    for (const id of charts) {
      const canvas = page.locator(`#${id} canvas`);
      assert.equal(await canvas.count(), 1, `#${id} has a canvas`);
      const box = await canvas.boundingBox();
      assert.ok(box !== null && box.width > 300 && box.height > 150, `#${id} canvas size ${JSON.stringify(box)}`);
      const coloured = await canvas.evaluate(colouredPixels);
      assert.ok(coloured > 100, `#${id}: ${coloured} coloured pixels`);
    }
    // The scatter has a legend entry per plotted run (ga has no forget quality) plus the x axis.
    assert.equal(await page.locator('#chart-scatter .u-legend tr').count(), 1 + 4);
    assert.equal(await page.locator('#chart-attacks .u-legend tr').count(), 3);
    // Scatter labels: the two runs at one place (npo-forget10 and its copy) share one label, and
    // no label covers another.
    const labels = JSON.parse((await page.locator('#chart-scatter').getAttribute('data-labels')) ?? '[]') as { text: string; x: number; y: number; w: number; h: number }[];
    assert.deepEqual(labels.map((l) => l.text).sort(), ['2 runs', 'retain', 'target']);
    for (const [i, a] of labels.entries()) {
      for (const b of labels.slice(i + 1)) assert.ok(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y, `labels ${a.text} and ${b.text} overlap`);
    }

    const screenshot = join(dir, 'report.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    t.diagnostic(`screenshot: ${screenshot}`);
    assert.deepEqual(errors, []);
    assert.deepEqual([...new Set(requests)], [url]);
  } finally {
    await context.close();
    await rm(join(dir, 'profile'), { recursive: true, force: true });
  }
});
