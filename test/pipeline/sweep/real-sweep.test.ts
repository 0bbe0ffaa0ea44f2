// The real trial runner end to end through the command: `lethe sweep` (in-process, no queue) of
// 2 methods × 2 settings on the shared tiny TOFU target, with a briefly trained retain reference,
// then `lethe report DIR`. Checks that every trial ran unlearn → evaluate → attack for real: each
// is done with forget quality and model utility (with their bootstrap intervals), the target's
// values on the same data, an attack's recovery, a trial folder with its config and evaluation and
// no model left behind; and that the report carries the sweep's sections.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { createModel } from '../../../src/models/model.ts';
import { saveModel } from '../../../src/models/save-model.ts';
import { finetune } from '../../../src/unlearn/finetune.ts';
import { readSweepFile } from '../../../src/pipeline/sweep/index.ts';
import { formatNumber } from '../../../src/report/format.ts';
import { tinyTofuTarget } from '../../helpers/tiny-target.ts';

const BIN = fileURLToPath(new URL('../../../bin/lethe.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lethe-real-sweep-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

function lethe(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  const { target, tokenizer, retain, template } = await tinyTofuTarget();
  await saveModel(target, join(dir, 'target'));
  tokenizer.save(join(dir, 'target'));
  // A retain reference: the same architecture trained briefly on the retain authors only.
  const runDir = join(dir, 'retain-run');
  const retainModel = (await finetune(createModel(target.config, { seed: 2 }), tokenizer, {
    data: retain, template, lr: 1e-2, optimizer: { kind: 'adamw', weightDecay: 0 }, epochs: 8, batchSize: 8, runDir,
  })).model;
  await saveModel(retainModel, join(dir, 'retain'));
  tokenizer.save(join(dir, 'retain'));
  writeFileSync(join(dir, 'sweep.yaml'), stringify({
    name: 'tiny-real',
    model: 'target',
    retainReference: 'retain',
    data: { tofuAuthors: 3, forgetAuthors: 1 },
    evaluations: ['tofu'],
    evaluation: { maxNewTokens: 8, limit: 10 },
    attacks: ['quantize'],
    seeds: [0],
    loop: { epochs: 1, batchSize: 8, accumulation: 1, warmupSteps: 0 },
    methods: { ga: { loop: { lr: [1e-3, 3e-3] } }, npo: { options: { beta: [0.1, 0.5] }, loop: { lr: 3e-3 } } },
  }));
});

test('lethe sweep runs 2 methods × 2 settings with the real runner; lethe report DIR shows the sweep', () => {
  const t0 = performance.now();
  const r = lethe('sweep', 'sweep.yaml', '--out', 'sw');
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`# lethe sweep of 4 tiny trials: ${seconds.toFixed(1)} s\n`);
  assert.match(r.stdout, /4\/4 done, 0 running, 0 failed, 0 pending/);
  return readSweepFile(join(dir, 'sw', 'sweep.json')).then((file) => {
    assert.ok(file);
    assert.equal(file.trials.length, 4);
    assert.deepEqual(file.trials.map((t) => t.method).sort(), ['ga', 'ga', 'npo', 'npo']);
    for (const t of file.trials) {
      assert.equal(t.status, 'done', `${t.id}: ${t.error}`);
      // The resolved config is what ran: the unlearn command's defaults written in.
      assert.equal(t.config.loop.optimizer, 'adamw');
      assert.equal(t.config.loop.epochs, 1);
      for (const name of ['forgetQuality', 'modelUtility']) {
        const m = t.metrics![name];
        assert.ok(typeof m.value === 'number' && Number.isFinite(m.value), `${t.id} ${name}: ${JSON.stringify(m)}`);
        assert.ok(m.value >= 0 && m.value <= 1);
        const target = t.targetMetrics![name];
        assert.ok(typeof target.value === 'number', `${t.id} target ${name}: ${JSON.stringify(target)}`);
      }
      const fq = t.metrics!.forgetQuality;
      assert.ok(fq.interval && fq.interval[0] <= fq.value! && fq.value! <= fq.interval[1], `forget quality interval ${JSON.stringify(fq)}`);
      assert.ok(Object.keys(t.metrics!).some((k) => k.startsWith('quantize') && k.endsWith('.recovered')), Object.keys(t.metrics!).join(', '));
      const trial = join(dir, 'sw', 'trials', t.id);
      assert.equal((JSON.parse(readFileSync(join(trial, 'config.json'), 'utf8')) as { id: string }).id, t.id);
      assert.ok(existsSync(join(trial, 'eval', 'results.json')));
      assert.ok(!existsSync(join(trial, 'unlearn', 'model')), 'the trial model is deleted (keepModels is off)');
    }
    // Every trial ran its own unlearning: each setting moved the forget answers' probability
    // away from the target's, by its own amount. (Model utility is 0 here, trial and target
    // alike: a tiny model trained on TOFU authors alone knows no real author or world fact, so
    // its ROUGE there and the harmonic mean are 0.)
    const forgetProb = (results: string) => (JSON.parse(readFileSync(results, 'utf8')) as { metrics: { tofu: { forgetProb: { value: number } } } }).metrics.tofu.forgetProb.value;
    const targetDir = readdirSync(join(dir, 'sw')).find((n) => n.startsWith('target-'))!;
    const targetProb = forgetProb(join(dir, 'sw', targetDir, 'results.json'));
    const trialProbs = file.trials.map((t) => forgetProb(join(dir, 'sw', 'trials', t.id, 'eval', 'results.json')));
    assert.equal(new Set(trialProbs).size, 4, `forget Prob ${trialProbs.join(', ')}`);
    for (const p of trialProbs) assert.notEqual(p, targetProb);
    // The target was evaluated once for the whole sweep, with the same numbers for every trial.
    assert.equal(readdirSync(join(dir, 'sw')).filter((n) => n.startsWith('target-')).length, 1);
    assert.equal(readdirSync(join(dir, 'sw')).filter((n) => n.startsWith('retain-')).length, 1);
    assert.equal(new Set(file.trials.map((t) => t.targetMetrics!.modelUtility.value)).size, 1);

    const again = lethe('sweep', 'sweep.yaml', '--out', 'sw');
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /4\/4 done/, 'a finished sweep started again runs nothing');

    const rep = lethe('report', 'sw', '--out', 'report.html');
    assert.equal(rep.status, 0, rep.stderr);
    assert.match(rep.stdout, /4\/4 trials done/);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    for (const id of ['sweep-pareto', 'sweep-best', 'sweep-seeds', 'sweep-sensitivity']) assert.ok(html.includes(`id="${id}"`), `report lacks #${id}`);
    for (const t of file.trials) assert.ok(html.includes(t.id));
    // The report reads each trial's files where the runner wrote them: its training log
    // (trials/<id>/unlearn/log.jsonl) drawn, its attacks (trials/<id>/attacks.json) in the sweep's
    // attack section with sweep.json's recovered fraction; the target and the retain reference
    // on the Pareto plot.
    const training = html.slice(html.indexOf('<section id="training">'), html.indexOf('</section>', html.indexOf('<section id="training">')));
    assert.ok(!training.includes('No training log'), training.slice(0, 2000));
    assert.equal(training.match(/id="chart-train-\d+"/g)?.length, 4);
    const attacks = html.slice(html.indexOf('<section id="sweep-attacks">'), html.indexOf('</section>', html.indexOf('<section id="sweep-attacks">')));
    for (const t of file.trials) {
      for (const [key, m] of Object.entries(t.metrics!).filter(([k]) => k.endsWith('.recovered'))) {
        const row = attacks.split('<tr>').find((r) => r.includes(`<code>${t.id}</code>`) && r.includes(`<td>${key.slice(0, -'.recovered'.length)}</td>`));
        assert.ok(row, `${t.id} ${key}`);
        assert.ok(m.value === null ? row.includes('unavailable') : row.includes(`>${formatNumber(m.value, 'percent')}<`), `${t.id} ${key}: ${row}`);
        assert.ok(!/forget Prob|<td class="unavailable"><span title="no attack record/.test(row), 'forget Prob before/after read from attacks.json');
      }
    }
    assert.match(html, /data-ref="target"/);
    assert.match(html, /data-ref="retain"/);
  });
});

test('lethe sweep: a bad sweep file is one line naming the field, exit 2', () => {
  writeFileSync(join(dir, 'bad.yaml'), stringify({ model: 'target', data: { tofuAuthors: 3, forgetAuthors: 1 }, methods: { ga: { options: { gama: [1, 2] } } } }));
  const r = lethe('sweep', 'bad.yaml', '--out', 'bad');
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /bad\.yaml: methods\.ga\.options\.gama: ga has no such option/);
});
