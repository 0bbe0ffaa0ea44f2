// `lethe report DIR` on a sweep folder laid out as the real runner writes it (real-runner.ts):
// DIR/sweep.json, DIR/target-<key>/ and DIR/retain-<key>/ results, and per trial
// trials/<id>/eval/results.json, trials/<id>/unlearn/log.jsonl and trials/<id>/attacks.json; one
// trial ran on a remote worker whose folder is not here. Every number the page shows is checked
// against the file it comes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSweepReport } from '../../../src/pipeline/sweep/sweep-report.ts';
import { parseSweepFile, type SweepFile, type TrialEntry } from '../../../src/pipeline/sweep/sweep-file.ts';
import type { Results } from '../../../src/results/schema.ts';
import { validResults } from '../../report/example-runs.ts';

const root = mkdtempSync(join(tmpdir(), 'lethe-sweep-report-'));
process.once('exit', () => rmSync(root, { recursive: true, force: true }));

// A data file outside the sweep folder (shown by its base name) and one inside (shown relative).
const OUTSIDE = join(root, 'elsewhere', 'data', 'forget10_perturbed.jsonl');
const TARGET_FQ = 0.0063;
const metric = (value: number, interval: [number, number] | null = null) => ({ value, interval });

function entry(id: string, method: string, seed: number, params: Record<string, number>, fq: number, mu: number, extra: Partial<TrialEntry> = {}): TrialEntry {
  return {
    id, settingId: `${method}-${JSON.stringify(params)}`, method, seed, params,
    config: {
      model: { path: 'target', hash: 'sha256:t' }, data: { tofuAuthors: 3, forgetAuthors: 1 }, retainReference: { path: 'retain', hash: 'sha256:r' },
      method, options: {}, loop: {}, seed, evaluations: ['tofu'], attacks: ['quantize'], keepModel: false,
    },
    status: 'done', attempts: 1, timings: {},
    metrics: {
      forgetQuality: metric(fq, [fq / 10, Math.min(1, fq * 10)]),
      modelUtility: metric(mu, [mu, mu]),
      'quantize_8bit.recovered': metric(0.25),
      'quantize_4bit.recovered': { value: null, unavailable: 'recovered is undefined: the model forgot nothing the target knew' },
    },
    targetMetrics: { forgetQuality: metric(TARGET_FQ, [1e-4, 0.1]), modelUtility: metric(0) },
    ...extra,
  };
}

/** A TOFU results file of `role` with the given headline numbers and overlong items. */
function results(role: 'target' | 'retain' | 'unlearned', fq: number | null, mu: number | null, sweepDir: string): Results {
  const r = validResults();
  delete r.attacks;
  r.role = role;
  if (role !== 'unlearned') delete r.method;
  r.metrics.tofu.forgetQuality = fq === null ? { value: null, unavailable: 'forget quality needs the forget-set truth ratios of a retain model' } : { value: fq };
  r.metrics.tofu.modelUtility = mu === null ? { value: null, unavailable: 'model utility needs all nine numbers; missing retain.rougeRecall' } : { value: mu };
  r.overlong = {
    forget: { policy: 'skip', skipped: 1, truncated: 0, items: [{ where: `${OUTSIDE}:9`, tokens: 150, action: 'skipped' }] },
    retain: { policy: 'skip', skipped: 1, truncated: 0, items: [{ where: `${join(sweepDir, 'data', 'retain.jsonl')}:10`, tokens: 138, action: 'skipped' }] },
  };
  return r;
}

const attacksRecord = (before: number, after8: number, after4: number) => ({
  quantize_8bit: { before: { forgetProb: before, retainProb: 0.4 }, after: { forgetProb: after8, retainProb: 0.41 }, recovered: 0.25, details: { bits: 8 } },
  quantize_4bit: { before: { forgetProb: before, retainProb: 0.4 }, after: { forgetProb: after4, retainProb: 0.42 }, recovered: null, details: { bits: 4 } },
});

const write = (path: string, data: unknown) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, typeof data === 'string' ? data : JSON.stringify(data, null, 1));
};

/** Trials a and b (ga, seeds 0 and 1, identical numbers), c (npo) here; d (npo) on a remote worker. */
function makeSweep(dir: string, workDir = join(root, 'absent-worker')): SweepFile {
  const trials = [
    entry('aaaa', 'ga', 0, { 'loop.lr': 1e-3 }, 0.034, 0),
    entry('bbbb', 'ga', 1, { 'loop.lr': 1e-3 }, 0.034, 0),
    entry('cccc', 'npo', 0, { 'options.beta': 0.1 }, 0.0063, 0),
    entry('dddd', 'npo', 1, { 'options.beta': 0.1 }, 0.02, 0, { worker: 'gpu7:4242', workerDir: join(workDir, 'trials', 'dddd') }),
  ];
  const file = parseSweepFile({ schema: 'lethe.sweep/1', name: 'tiny', sweepId: 's1', selection: { maximize: 'forgetQuality', constraints: [{ metric: 'modelUtility', atLeast: 0.9, of: 'target' }] }, createdAt: '2026-11-29T23:04:09.892Z', updatedAt: '2026-11-29T23:06:14.418Z', trials }, 'test');
  write(join(dir, 'sweep.json'), file);
  write(join(dir, 'target-k1', 'results.json'), results('target', TARGET_FQ, 0, dir));
  write(join(dir, 'retain-k1', 'results.json'), results('retain', null, null, dir));
  // A queued trial's folder here holds only what the coordinator writes (config.json, result.json).
  write(join(dir, 'trials', 'dddd', 'config.json'), { id: 'dddd', ...trials[3].config });
  write(join(dir, 'trials', 'dddd', 'result.json'), { metrics: trials[3].metrics, worker: trials[3].worker, workerDir: trials[3].workerDir });
  const probs: Record<string, [number, number, number]> = { aaaa: [0.046, 0.05, 0.047], bbbb: [0.045, 0.046, 0.049], cccc: [0.015, 0.016, 0.017] };
  for (const t of trials.slice(0, 3)) {
    const trial = join(dir, 'trials', t.id);
    write(join(trial, 'eval', 'results.json'), results('unlearned', t.metrics!.forgetQuality.value, t.metrics!.modelUtility.value, dir));
    write(join(trial, 'unlearn', 'log.jsonl'), [1, 2, 3].map((step) => JSON.stringify({ step, lr: 1e-3, loss: -3 - step / 10, forgetLoss: -3 - step / 10 })).join('\n') + '\n');
    write(join(trial, 'attacks.json'), attacksRecord(...probs[t.id]));
  }
  return file;
}

/** The HTML of the section with this id. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}">`);
  assert.ok(start >= 0, `no section #${id}`);
  return html.slice(start, html.indexOf('</section>', start));
}

const rows = (html: string) => html.split('<tr>').slice(2);

test('the sweep report: references on the Pareto plot, training curves from TRIAL/unlearn, grouped data checks, attacks per trial, seeds counted', async () => {
  const dir = join(root, 'sw');
  const file = makeSweep(dir);
  const out = join(root, 'report.html');
  const written = await writeSweepReport(dir, out);
  assert.equal(written.runs, 5, 'target, retain reference and the 3 trials whose folders are here');
  const html = readFileSync(out, 'utf8');

  // 1. Reference points: the target as sweep.json's trials measured it, the retain reference at
  // forget quality 1 (its utility unavailable: a line, not a point), both in the legend.
  const pareto = section(html, 'sweep-pareto');
  const target = /<path class="ref" data-ref="target" data-forget-quality="([^"]*)" data-model-utility="([^"]*)"/.exec(pareto);
  assert.ok(target, 'the target is drawn');
  assert.equal(Number(target[1]), file.trials[0].targetMetrics!.forgetQuality.value);
  assert.equal(Number(target[2]), file.trials[0].targetMetrics!.modelUtility.value);
  assert.match(pareto, /<line class="ref" data-ref="retain" data-forget-quality="1" data-model-utility="null"/);
  assert.match(pareto, /target \(before unlearning\)/);
  assert.match(pareto, /retain reference \(the aim: FQ 1\)/);
  assert.match(pareto, /retain reference: forget quality 1, model utility unavailable \(model utility needs all nine numbers; missing retain\.rougeRecall\)/);
  // Every utility is 0: the axis is [0, 1], not the degenerate −0.5 … 0.5; forget quality in
  // decades from the smallest value's (1e-3) up to 1.
  const yLabels = [...pareto.matchAll(/text-anchor="end" dominant-baseline="middle">([^<]*)</g)].map((m) => m[1]);
  assert.deepEqual(yLabels, ['0', '0.2', '0.4', '0.6', '0.8', '1']);
  const xLabels = [...pareto.matchAll(/font-size="11" text-anchor="middle">([^<]*)</g)].map((m) => m[1]);
  assert.deepEqual(xLabels, ['1e-3', '1e-2', '1e-1', '1']);
  // a and b sit at the same place: one mark for 2 trials; c and d one each.
  assert.deepEqual([...pareto.matchAll(/data-trials="(\d+)"/g)].map((m) => Number(m[1])).sort(), [1, 1, 2]);
  assert.match(pareto, /2 trials<\/text>/);
  // The page's own scatter (uPlot) gets the target as a run with its role.
  const data = JSON.parse(/<script type="application\/json" id="lethe-data">(.*?)<\/script>/s.exec(html)![1]) as { scatter: { name: string; role?: string; forgetQuality: number }[] };
  assert.deepEqual(data.scatter.filter((p) => p.role === 'target').map((p) => [p.name, p.forgetQuality]), [['target', TARGET_FQ]]);

  // 3. Training curves: each local trial's log found in trials/<id>/unlearn/; the remote trial
  // named once, with its worker.
  const training = section(html, 'training');
  assert.ok(!training.includes('No training log'), 'the trials have logs; the target and the retain reference are not expected to');
  for (const id of ['aaaa', 'bbbb', 'cccc']) assert.ok(training.includes(`<h3>${id.startsWith('c') ? 'npo' : 'ga'} ${id}</h3>`), `curves of ${id}`);
  assert.equal(training.match(/chart-train-\d/g)?.length, 3);
  assert.equal(training.split('<li>npo dddd:').length - 1, 1, 'the remote trial is named once');
  assert.match(training, /npo dddd: ran on worker gpu7:4242/);
  const chartCurves = (JSON.parse(/id="lethe-data">(.*?)<\/script>/s.exec(html)![1]) as { curves: { name: string; train: { step: number[] } }[] }).curves;
  assert.deepEqual(chartCurves.map((c) => [c.name, c.train.step.length]), [['ga aaaa', 3], ['ga bbbb', 3], ['npo cccc', 3]]);

  // 4. Data checks: the notices every run shares, once, in one row naming all runs; files by
  // base name (outside the sweep folder) or relative path (inside), the full path in the title.
  const checks = section(html, 'data-checks');
  assert.equal(rows(checks).length, 1);
  assert.match(checks, /<th scope="row" class="runs" title="target, retain reference, ga aaaa, ga bbbb, npo cccc">all 5 runs<\/th>/);
  assert.equal(checks.match(/<li>/g)?.length, 2);
  assert.ok(checks.includes(`<span class="file" title="${OUTSIDE}:9">forget10_perturbed.jsonl:9</span>`));
  assert.ok(checks.includes(`<span class="file" title="${join(dir, 'data', 'retain.jsonl')}:10">data/retain.jsonl:10</span>`));

  // 5. Attacks: one row per trial and attack; forget Prob before/after as attacks.json records
  // it, recovered as sweep.json has it (unavailable with its reason); the remote trial's scores
  // unavailable, saying where they are.
  const attacks = section(html, 'sweep-attacks');
  const attackRows = rows(attacks);
  assert.equal(attackRows.length, 8);
  for (const t of file.trials) {
    const record = t.id === 'dddd' ? undefined : (JSON.parse(readFileSync(join(dir, 'trials', t.id, 'attacks.json'), 'utf8')) as Record<string, { before: { forgetProb: number }; after: { forgetProb: number } }>);
    for (const attack of ['quantize_8bit', 'quantize_4bit']) {
      const row = attackRows.find((r) => r.includes(`<code>${t.id}</code>`) && r.includes(`<td>${attack}</td>`));
      assert.ok(row, `${t.id} ${attack}`);
      const cells = [...row.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]).slice(4);
      if (record) {
        assert.deepEqual(cells.slice(0, 2).map(Number), [record[attack].before.forgetProb, record[attack].after.forgetProb].map((v) => Number(v.toFixed(3))));
      } else {
        assert.match(cells[0], /title="forget Prob before\/after is in the trial&#39;s attacks\.json: ran on worker gpu7:4242; its folder/);
      }
      const recovered = t.metrics![`${attack}.recovered`];
      if (recovered.value === null) assert.ok(cells[2].includes(`title="${recovered.unavailable!}">unavailable`), cells[2]);
      else assert.equal(cells[2], `${Math.round(recovered.value * 100)}%`);
    }
  }
  // Each method's pick under the selection rule first, marked.
  assert.ok(attackRows[0].includes('<code>aaaa</code><span class="badge"'));

  // 6. Seeds: how many, and which.
  const seeds = section(html, 'sweep-seeds');
  assert.match(seeds, /<td>2 \(0, 1\)<\/td>/);
});

test('a queued sweep whose trial folders are all on the workers: the sweep page, each trial\'s log said to be on its worker, once', async () => {
  const dir = join(root, 'queued');
  makeSweep(dir);
  for (const id of ['aaaa', 'bbbb', 'cccc']) {
    for (const f of ['eval', 'unlearn', 'attacks.json']) rmSync(join(dir, 'trials', id, f), { recursive: true });
  }
  rmSync(join(dir, 'target-k1'), { recursive: true });
  rmSync(join(dir, 'retain-k1'), { recursive: true });
  const out = join(root, 'queued.html');
  const written = await writeSweepReport(dir, out);
  assert.equal(written.runs, 0);
  const html = readFileSync(out, 'utf8');
  assert.ok(!html.includes('<script'), 'the sweep page needs no script');
  const training = section(html, 'training');
  assert.equal(training.match(/<li>/g)?.length, 4);
  for (const name of ['ga aaaa', 'ga bbbb', 'npo cccc', 'npo dddd']) assert.equal(training.split(`<li>${name}:`).length - 1, 1, `${name} named once`);
  assert.match(training, /<li>ga aaaa: trials\/aaaa holds none of the trial&#39;s files/);
  // The target still appears (from sweep.json); the retain reference's results are not here, said so.
  assert.match(section(html, 'sweep-pareto'), /data-ref="target"/);
  assert.match(section(html, 'sweep-pareto'), /retain reference: not shown \(its results are not in this sweep folder/);
  assert.equal(rows(section(html, 'sweep-attacks')).filter((r) => r.includes('class="unavailable"')).length, 8);
});

test('a queued trial whose worker folder this machine shares is read from there, and so are the references the worker evaluated', async () => {
  const dir = join(root, 'shared');
  // dddd ran on a worker whose WORKDIR is mounted here; the target and retain evaluations it made are there too.
  const workDir = join(root, 'mounted-worker');
  const file = makeSweep(dir, workDir);
  const trial = file.trials[3].workerDir!;
  write(join(trial, 'eval', 'results.json'), results('unlearned', 0.02, 0, dir));
  write(join(trial, 'unlearn', 'log.jsonl'), JSON.stringify({ step: 1, loss: -3 }) + '\n');
  write(join(trial, 'attacks.json'), attacksRecord(0.03, 0.031, 0.032));
  for (const kind of ['target', 'retain']) rmSync(join(dir, `${kind}-k1`), { recursive: true });
  write(join(workDir, 'target-k1', 'results.json'), results('target', TARGET_FQ, 0, dir));
  write(join(workDir, 'retain-k1', 'results.json'), results('retain', null, 0.4, dir));
  const out = join(root, 'shared.html');
  assert.equal((await writeSweepReport(dir, out)).runs, 6);
  const html = readFileSync(out, 'utf8');
  const training = section(html, 'training');
  assert.ok(training.includes('<h3>npo dddd</h3>'));
  assert.ok(!training.includes('not in this folder'));
  assert.ok(section(html, 'sweep-attacks').split('<tr>').some((r) => r.includes('<code>dddd</code>') && r.includes('<td class="num">0.030</td><td class="num">0.031</td>')));
  // The retain reference's utility is known here: a point (star) at forget quality 1.
  assert.match(section(html, 'sweep-pareto'), /<path class="ref" data-ref="retain" data-forget-quality="1" data-model-utility="0.4"/);
});
