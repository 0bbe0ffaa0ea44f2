// The results file keeps what a reader needs to trust each number: n, skipped items, the
// bootstrap interval and the two samples of a two-sample metric, as the metric returned them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meanResult, type MetricResult } from '../../src/eval/metrics/metric-result.ts';
import { composeResults } from '../../src/pipeline/results-file.ts';
import { summaryRow, summaryTable } from '../../src/pipeline/demo/demo-summary.ts';
import { parseResults } from '../../src/results/schema.ts';

const efficiency = { wallSeconds: 1, tokens: 10, flops: 100, peakRssMiB: 50 };
const modelDir = join(mkdtempSync(join(tmpdir(), 'lethe-results-')), 'model');

function compose(metrics: Record<string, Record<string, MetricResult>>) {
  return composeResults({ modelDir, benchmark: { name: 'tofu', forgetSplit: 'forget01' }, metrics, efficiency });
}

test('n, skipped, interval and groups are copied into results.json and read back through the schema', () => {
  const prob = meanResult([0.1, 0.2, 0.3, 0.4], 'forget Prob', { bootstrap: { seed: 7, resamples: 200 } });
  const verbMem: MetricResult = { ...meanResult([0.5, 0.25], 'VerbMem', { bootstrap: { seed: 1, resamples: 100 } }), skipped: { count: 9, reason: 'too short' } };
  const auc: MetricResult = { value: 0.75, perItem: [], n: 2, groups: { forget: [1, 2], holdout: [0.5, 1.5] }, interval: { unavailable: 'a bootstrap interval needs at least 2 items; there is 1' } };
  const r = compose({ tofu: { forgetProb: prob }, muse: { verbMem }, mia: { lossAuc: auc } });
  const back = parseResults(JSON.parse(JSON.stringify(r)), 'r');
  const fp = back.metrics.tofu.forgetProb;
  assert.equal(fp.n, 4);
  assert.ok(fp.interval && 'lower' in fp.interval);
  assert.deepEqual(fp.interval, prob.interval);
  assert.ok(fp.interval.lower <= 0.25 && 0.25 <= fp.interval.upper);
  assert.deepEqual(back.metrics.muse.verbMem.skipped, { count: 9, reason: 'too short' });
  assert.equal(back.metrics.muse.verbMem.n, 2);
  assert.deepEqual(back.metrics.mia.lossAuc.groups, { forget: [1, 2], holdout: [0.5, 1.5] });
  assert.deepEqual(back.metrics.mia.lossAuc.interval, { unavailable: 'a bootstrap interval needs at least 2 items; there is 1' });
});

test('a value that is not finite is unavailable and loses its interval; an older file without n or interval still reads', () => {
  const bad: MetricResult = { value: Number.NaN, perItem: [1, 2], n: 2, interval: { lower: 0, upper: 1, level: 0.95, method: 'percentile bootstrap', resamples: 10, seed: 0 } };
  const r = compose({ tofu: { forgetQuality: bad } });
  assert.equal(r.metrics.tofu.forgetQuality.value, null);
  assert.equal(r.metrics.tofu.forgetQuality.interval, undefined);
  assert.match(r.metrics.tofu.forgetQuality.unavailable!, /not a finite number/);
  const old = JSON.parse(JSON.stringify(r));
  old.metrics.tofu.forgetQuality = { value: 0.5, perItem: [1, 2] };
  assert.equal(parseResults(old, 'old').metrics.tofu.forgetQuality.n, undefined);
});

test('the demo table shows each headline metric with its interval and n', () => {
  const fq: MetricResult = { value: 0.266, perItem: [], n: 40, interval: { lower: 0.11, upper: 0.52, level: 0.95, method: 'bias-shifted percentile bootstrap', resamples: 1000, seed: 0 } };
  const mu = meanResult([0.8, 0.9, 0.95], 'model utility', { bootstrap: { seed: 0, resamples: 100 } });
  const fp = meanResult(Array.from({ length: 40 }, (_, i) => i / 40), 'forget Prob', { bootstrap: { seed: 0, resamples: 100 } });
  const row = summaryRow(compose({ tofu: { forgetQuality: fq, modelUtility: mu, forgetProb: fp } }));
  assert.deepEqual(row.intervals?.forget_quality, [0.11, 0.52]);
  assert.equal(row.n, 40);
  const table = summaryTable([row], { [row.name]: 3.2 });
  assert.match(table.split('\n')[0], /forget quality \[95% CI\] +model utility \[95% CI\] +forget Prob \[95% CI\] +n /);
  assert.match(table.split('\n')[2], /0\.266 \[0\.110, 0\.520\] +0\.883 \[0\.\d{3}, 0\.\d{3}\] +0\.487 \[0\.\d{3}, 0\.\d{3}\] +40 /);
});
