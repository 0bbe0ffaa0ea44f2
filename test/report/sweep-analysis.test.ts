// The sweep's analysis on hand-made trials whose answers are worked out by hand: Pareto front,
// the selection rule, best per method, spread over seeds, sensitivity (main effects and η²), and
// the HTML sections (every string escaped).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeSweep, attackRows, bestPerMethod, checkRule, paretoFront, seedSpread, sensitivity, spread, targetPoints, type SelectionRuleView, type SweepTrialView } from '../../src/report/sweep-analysis.ts';
import { forgetQualityRange, paretoSvg, renderSweepPage, renderSweepSections, ruleText, utilityRange } from '../../src/report/sweep-html.ts';

const rule: SelectionRuleView = { maximize: 'forgetQuality', constraints: [{ metric: 'modelUtility', atLeast: 0.9, of: 'target' }] };
const target = { forgetQuality: { value: 1e-6 }, modelUtility: { value: 0.6 } };

function trial(id: string, fq: number | null, mu: number | null, extra: Partial<SweepTrialView> = {}): SweepTrialView {
  return {
    id,
    settingId: `s-${id}`,
    method: 'npo',
    seed: 0,
    params: {},
    status: 'done',
    metrics: {
      forgetQuality: fq === null ? { value: null, unavailable: 'no retain model' } : { value: fq, interval: null },
      modelUtility: mu === null ? { value: null, unavailable: 'no retain set' } : { value: mu, interval: [mu - 0.01, mu + 0.01] },
    },
    targetMetrics: target,
    ...extra,
  };
}

test('the Pareto front keeps the trials no other beats on both metrics, ties included, sorted by forget quality', () => {
  const trials = [
    trial('a', 0.1, 0.5),
    trial('b', 0.2, 0.4),
    trial('c', 0.05, 0.6),
    trial('d', 0.1, 0.45), // dominated by a
    trial('e', 0.2, 0.4), // equal to b: neither beats the other
    trial('f', null, 0.9), // unavailable: left out
    trial('g', 0.9, 0.9, { status: 'failed' }),
    trial('h', 0.01, 0.3), // dominated by everything on the front
  ];
  assert.deepEqual(paretoFront(trials).map((t) => t.id), ['c', 'a', 'b', 'e']);
});

test('the selection rule compares utility with 0.9 × the target’s and picks the highest forget quality, ties by id', () => {
  assert.deepEqual(checkRule(trial('x', 0.1, 0.54), rule), { passes: true, reasons: [] });
  const fail = checkRule(trial('y', 0.1, 0.53), rule);
  assert.equal(fail.passes, false);
  assert.match(fail.reasons[0], /modelUtility 0\.53 < 0\.9 × target's 0\.6/);
  assert.deepEqual(checkRule(trial('z', 0.1, null), rule).reasons, ['modelUtility unavailable']);
  assert.deepEqual(checkRule(trial('t', 0.1, 0.7, { targetMetrics: {} }), rule).reasons, ["the target's modelUtility is unavailable"]);
  const abs: SelectionRuleView = { maximize: 'forgetQuality', constraints: [{ metric: 'modelUtility', atLeast: 0.5 }] };
  assert.equal(checkRule(trial('u', 0.1, 0.5), abs).passes, true);

  const trials = [
    trial('n1', 0.3, 0.5), // best forget quality but utility too low
    trial('n3', 0.2, 0.55),
    trial('n2', 0.2, 0.58), // same forget quality as n3: the lower id wins
    trial('n4', 0.1, 0.6),
    trial('g1', 0.4, 0.3, { method: 'ga' }),
    trial('g2', 0.5, 0.2, { method: 'ga' }),
  ];
  const best = bestPerMethod(trials, rule);
  assert.equal(best[0].method, 'npo');
  assert.equal(best[0].best?.id, 'n2');
  assert.deepEqual([best[0].passing, best[0].finished, best[0].total], [3, 4, 4]);
  assert.equal(best[1].method, 'ga');
  assert.equal(best[1].best, null);
});

test('spread over seeds: mean ± sample sd per setting and how many seeds pass', () => {
  assert.deepEqual(spread([1, 2, 3]), { mean: 2, sd: 1, n: 3 });
  assert.deepEqual(spread([5]), { mean: 5, sd: null, n: 1 });
  assert.equal(spread([]), null);
  const trials = [0, 1, 2].map((seed) => trial(`s${seed}`, 0.1 * (seed + 1), [0.5, 0.6, 0.7][seed], { settingId: 'S', seed, params: { 'options.beta': 0.1 } }));
  trials.push(trial('other', 0.5, 0.6, { settingId: 'T', params: { 'options.beta': 0.5 } }));
  const rows = seedSpread(trials, rule);
  assert.equal(rows.length, 2);
  const s = rows.find((r) => r.settingId === 'S')!;
  assert.deepEqual(s.seeds, [0, 1, 2]);
  assert.ok(Math.abs(s.metrics.forgetQuality!.mean - 0.2) < 1e-12);
  assert.ok(Math.abs(s.metrics.forgetQuality!.sd! - 0.1) < 1e-12);
  assert.ok(Math.abs(s.metrics.modelUtility!.mean - 0.6) < 1e-12);
  assert.deepEqual([s.passes, s.of], [2, 3]); // 0.5 < 0.54 fails
});

test('sensitivity: per-parameter main effects (range of group means) and share of variance, forget quality on log10', () => {
  // A 2×2 grid × 2 seeds: utility moves with lr only (+0.1), forget quality ×10 per beta step, seeds add ±0.01 to utility.
  const trials: SweepTrialView[] = [];
  for (const lr of [1e-5, 2e-5]) for (const beta of [0.1, 0.5]) for (const seed of [0, 1]) {
    const mu = 0.5 + (lr === 2e-5 ? 0.1 : 0) + (seed ? 0.01 : -0.01);
    const fq = beta === 0.5 ? 1e-2 : 1e-3;
    trials.push(trial(`t${lr}-${beta}-${seed}`, fq, mu, { seed, params: { 'loop.lr': lr, 'options.beta': beta } }));
  }
  const rows = sensitivity(trials);
  const get = (param: string, metric: string) => rows.find((r) => r.param === param && r.metric === metric)!;
  const lrMu = get('loop.lr', 'modelUtility');
  assert.ok(Math.abs(lrMu.range - 0.1) < 1e-12);
  // Total SS: 8 × 0.05² (lr) + 8 × 0.01² (seed) = 0.0208; between (lr) = 8 × 0.05² = 0.02.
  assert.ok(Math.abs(lrMu.share! - 0.02 / 0.0208) < 1e-9);
  assert.deepEqual(lrMu.levels.map((l) => [l.value, l.n]), [[1e-5, 4], [2e-5, 4]]);
  assert.ok(Math.abs(get('options.beta', 'modelUtility').range) < 1e-12);
  const betaFq = get('options.beta', 'forgetQuality');
  assert.equal(betaFq.scale, 'log10');
  assert.ok(Math.abs(betaFq.range - 1) < 1e-12);
  assert.ok(Math.abs(betaFq.share! - 1) < 1e-12);
  assert.equal(get('loop.lr', 'forgetQuality').range, 0);
  // Sorted by range within a method and metric: beta before lr for forget quality.
  const fqRows = rows.filter((r) => r.metric === 'forgetQuality').map((r) => r.param);
  assert.deepEqual(fqRows, ['options.beta', 'loop.lr']);
});

test('the HTML sections escape every string and state the rule, failures with their reasons', () => {
  const evil = '<script>alert("x")</script>';
  const trials = [
    trial('a&b', 0.1, 0.58, { method: evil, params: { 'options.beta': evil } }),
    trial('c', 0.2, 0.3),
    trial('bad', null, null, { status: 'failed', error: `worker w refuses: ${evil}` }),
  ];
  const html = renderSweepSections(analyzeSweep({ name: `sweep ${evil}`, selection: rule, trials }));
  assert.ok(!html.includes('<script>'));
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  assert.ok(html.includes('a&amp;b'));
  assert.ok(html.includes(ruleText(rule)));
  assert.match(html, /id="sweep-failed"/);
  assert.match(html, /worker w refuses/);
  assert.match(html, /0\.580 \[0\.570, 0\.590\]/, 'utility shown with its interval');
  assert.equal(ruleText(rule), 'highest forgetQuality with modelUtility ≥ 0.9 × the target’s');
});

test('the sweep page: the report style, no script, a scatter with one point per finished trial, titles escaped', () => {
  const trials = [trial('a', 0.1, 0.58, { method: 'npo<b>' }), trial('b', 0.01, 0.6), trial('c', 1e-3, 0.5), trial('d', 0.2, 0.1, { status: 'failed' })];
  const page = renderSweepPage(analyzeSweep({ name: 'n', selection: rule, trials }), new Date('2026-01-01T00:00:00Z'));
  assert.match(page, /^<!DOCTYPE html>/);
  assert.ok(!page.includes('<script'));
  assert.equal(page.match(/<g class="trial" data-trials="1">/g)?.length, 3);
  assert.ok(page.includes('npo&lt;b&gt;'));
  assert.ok(!page.includes('npo<b>'));
  // Front: b (0.01, 0.6) and a (0.1, 0.58); c is dominated by b.
  assert.equal(page.match(/<polyline points="([^"]*)"/)![1].split(' ').length, 2);
});

test('sensitivity bins a parameter drawn at random (more than 6 values) into terciles', () => {
  // lr takes 9 values; utility falls with lr: terciles of 3 trials each.
  const trials = Array.from({ length: 9 }, (_, i) => trial(`r${i}`, 0.1, 0.9 - 0.01 * i, { params: { 'loop.lr': (i + 1) * 1e-5 } }));
  const row = sensitivity(trials).find((r) => r.metric === 'modelUtility')!;
  assert.deepEqual(row.levels.map((l) => [l.value, l.n]), [['[1.00e-5, 3.00e-5]', 3], ['[4.00e-5, 6.00e-5]', 3], ['[7.00e-5, 9.00e-5]', 3]]);
  assert.ok(Math.abs(row.range - 0.06) < 1e-12);
});

test('the Pareto axes: utility in [0, 1] when every trial has the same utility; forget quality in whole decades up to 1', () => {
  assert.deepEqual(utilityRange([0, 0, 0]), [0, 1]);
  assert.deepEqual(utilityRange([1, 1]), [0, 1]);
  assert.deepEqual(utilityRange([0.55, 0.62, 0.6]), [0.5, 0.7]);
  assert.deepEqual(utilityRange([0.5, 0.6]), [0.5, 0.6]);
  assert.deepEqual(forgetQualityRange([Math.log10(0.0063), Math.log10(0.034)]), [-3, 0]);
  assert.deepEqual(forgetQualityRange([0, 0]), [-1, 0], 'all at 1: one decade');
  assert.deepEqual(forgetQualityRange([-25.4]), [-26, 0]);
});

test('the target point is what the trials measured (one per distinct pair of values); the retain reference drawn as a star where its utility is known', () => {
  const trials = [trial('a', 0.1, 0.58), trial('b', 0.01, 0.6), trial('c', 1e-3, 0.5)];
  const a = analyzeSweep({ name: 'n', selection: rule, trials });
  assert.equal(a.targets.length, 1);
  assert.equal(a.targets[0].forgetQuality.value, 1e-6);
  assert.equal(a.targets[0].modelUtility.value, 0.6);
  assert.match(a.targets[0].source, /as 3 trials measured it/);
  const other = trial('d', 0.2, 0.4, { targetMetrics: { forgetQuality: { value: 1e-5 }, modelUtility: { value: 0.7 } } });
  assert.deepEqual(targetPoints([...trials, other]).map((t) => [t.label, t.forgetQuality.value]), [['target 1', 1e-6], ['target 2', 1e-5]]);

  const retain = { role: 'retain' as const, label: 'retain reference', forgetQuality: { value: 1 }, modelUtility: { value: 0.61 }, source: 'retain/results.json' };
  const svg = paretoSvg(a, [...a.targets, retain]);
  assert.match(svg, /<path class="ref" data-ref="target" data-forget-quality="0.000001" data-model-utility="0.6"/);
  assert.match(svg, /<path class="ref" data-ref="retain" data-forget-quality="1" data-model-utility="0.61"/);
  assert.ok(!svg.includes('<line class="ref"'), 'no line when the retain reference is a point');
  // The axis reaches the target's 1e-6 and the retain's 1.
  const xLabels = [...svg.matchAll(/font-size="11" text-anchor="middle">([^<]*)</g)].map((m) => m[1]);
  assert.equal(xLabels[0], '1e-6');
  assert.equal(xLabels.at(-1), '1');
  const html = renderSweepSections(a, { retain });
  assert.match(html, /retain reference: forget quality 1, model utility 0\.610; retain\/results\.json/);
  assert.match(renderSweepSections(a, { retain: { unavailable: 'not in this folder' } }), /retain reference: not shown \(not in this folder\)/);
});

test('trials of several methods at one place are one pie mark with their count; the title lists each', () => {
  const trials = [trial('a', 0.1, 0.5), trial('b', 0.1, 0.5, { method: 'ga' }), trial('c', 0.1, 0.5, { method: 'ga' })];
  const svg = paretoSvg(analyzeSweep({ name: 'n', selection: rule, trials }));
  assert.equal(svg.match(/<g class="trial"/g)?.length, 1);
  assert.match(svg, /data-trials="3"/);
  assert.match(svg, /3 trials \(npo 1, ga 2\)/);
  assert.match(svg, /<title>3 trials here:\na npo/);
  assert.equal(svg.match(/<g class="trial"[^]*?<\/g>/)![0].match(/<path /g)?.length, 2, 'one slice per method');
});

test('attack rows: each method’s pick first, recovered from sweep.json, forget Prob from the record or unavailable with the reason', () => {
  const recovered = (v: number | null) => (v === null ? { value: null, unavailable: 'nothing was forgotten' } : { value: v, interval: null });
  const withAttacks = (id: string, fq: number, r: number | null) => trial(id, fq, 0.6, { metrics: { forgetQuality: { value: fq }, modelUtility: { value: 0.6 }, 'relearn.recovered': recovered(r) } });
  const trials = [withAttacks('x', 0.01, 0.5), withAttacks('y', 0.1, null), withAttacks('z', 0.05, 0.1)];
  const a = analyzeSweep({ name: 'n', selection: rule, trials });
  const rows = attackRows(a.points, a.best, {
    x: { relearn: { before: { forgetProb: 0.1 }, after: { forgetProb: 0.5 }, recovered: 0.5 } },
    y: { unavailable: 'its folder is on worker w' },
  });
  assert.deepEqual(rows.map((r) => [r.trial.id, r.best]), [['y', true], ['x', false], ['z', false]]);
  assert.deepEqual([rows[1].before, rows[1].after, rows[1].recovered.value], [0.1, 0.5, 0.5]);
  assert.equal(rows[0].recovered.unavailable, 'nothing was forgotten');
  assert.equal(rows[0].scoresUnavailable, 'its folder is on worker w');
  assert.equal(rows[2].scoresUnavailable, 'no attack record for this trial in this folder');
  const html = renderSweepSections(a, { attacks: { x: { relearn: { before: { forgetProb: 0.1 }, after: { forgetProb: 0.5 }, recovered: 0.5 } } } });
  assert.match(html, /id="sweep-attacks"/);
  assert.match(html, /<td class="num">0\.100<\/td><td class="num">0\.500<\/td><td class="num" title="0\.5">50%<\/td>/);
});

test('count labels of nearby marks in the Pareto plot do not cover each other (a label that fits nowhere is left to the title)', () => {
  const fqs = [0.01, 0.0115, 0.013, 0.015];
  const trials = fqs.flatMap((fq, i) => [trial(`p${i}`, fq, 0.5), trial(`q${i}`, fq, 0.5)]);
  const svg = paretoSvg(analyzeSweep({ name: 'n', selection: rule, trials }));
  assert.equal(svg.match(/data-trials="2"/g)?.length, 4);
  const labels = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" font-size="11" fill="#333">([^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) - 11, w: m[3].length * 5.6, h: 13 }));
  assert.ok(labels.length >= 2, `${labels.length} labels`);
  for (const [i, a] of labels.entries()) {
    for (const b of labels.slice(i + 1)) assert.ok(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y, `labels at ${JSON.stringify(a)} and ${JSON.stringify(b)} overlap`);
  }
});
