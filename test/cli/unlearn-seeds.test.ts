// `lethe unlearn --seeds N`: the run repeated with seeds S … S+N−1, each a complete run folder
// OUT/seed-K/ (lethe eval takes its model), OUT/seeds.json whose mean ± sd and "passes in k of
// N" are recomputed here from the per-seed values, resume of a finished set, and bad N refused.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectTofuAuthors } from '../../src/data/tofu.ts';
import { loadModel } from '../../src/models/load-model.ts';
import type { SeedsFile } from '../../src/pipeline/unlearning-seeds.ts';
import { readResults } from '../../src/results/schema.ts';
import { lethe, tinyModelDir } from '../helpers/tiny-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-unlearn-seeds-'));
const model = join(dir, 'model-in');
const out = join(dir, 'run');
const SEEDS = [5, 6, 7];
const ARGS = ['unlearn', '--model', model, '--method', 'graddiff', '--forget-qa', 'forget.jsonl', '--retain-qa', 'retain.jsonl',
  '--epochs', '2', '--batch-size', '2', '--accumulation', '1', '--lr', '0.02', '--eval-items', '4', '--out', out];

function ok(r: ReturnType<typeof lethe>): string {
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

let first: string;
let file: SeedsFile;

before(async () => {
  await tinyModelDir(model, 3);
  const subset = selectTofuAuthors({ authors: 2, forget: 1 });
  const line = (i: { question: string; answer: string }) => JSON.stringify({ question: i.question, answer: i.answer });
  writeFileSync(join(dir, 'forget.jsonl'), subset.forgetSet.slice(0, 6).map(line).join('\n') + '\n');
  writeFileSync(join(dir, 'retain.jsonl'), subset.retainSet.slice(0, 6).map(line).join('\n') + '\n');
  first = ok(lethe(dir, ...ARGS, '--seed', '5', '--seeds', '3'));
  file = JSON.parse(readFileSync(join(out, 'seeds.json'), 'utf8')) as SeedsFile;
});

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

test('--seeds 3 --seed 5: three complete run folders seed-5..seed-7, each with its own seed, and different runs', async () => {
  assert.deepEqual(file.seeds, SEEDS);
  const weights: Float32Array[] = [];
  for (const k of SEEDS) {
    const runDir = join(out, `seed-${k}`);
    for (const f of ['model/config.json', 'log.jsonl', 'config.yaml']) assert.ok(existsSync(join(runDir, f)), `seed-${k}/${f}`);
    const config = readFileSync(join(runDir, 'config.yaml'), 'utf8');
    assert.match(config, new RegExp(`^seed: ${k}$`, 'm'));
    assert.doesNotMatch(config, /^seeds:/m, 'a seed folder is a single run');
    const m = await loadModel(join(runDir, 'model'));
    weights.push(m.params.get('model.embed_tokens.weight')!.data as Float32Array);
  }
  assert.match(readFileSync(join(out, 'config.yaml'), 'utf8'), /^seeds: 3$/m);
  // Different seeds shuffle the forget batches differently: the weights and the losses differ.
  for (let i = 1; i < weights.length; i++) assert.notDeepEqual(weights[i], weights[0], `seed ${SEEDS[i]} vs ${SEEDS[0]}`);
  assert.equal(new Set(file.runs.map((r) => r.loss)).size, 3, JSON.stringify(file.runs.map((r) => r.loss)));
  assert.match(first, /passes in \d of 3 seeds/);
});

test('seeds.json: versioned, each seed\'s loss is its log\'s last line, mean ± sd and k of N match the per-seed values', () => {
  assert.equal(file.schema, 'lethe.seeds/1');
  assert.equal(file.method, 'graddiff');
  assert.equal(file.probe, 'qa');
  assert.equal(file.probeItems, 4);
  for (const r of file.runs) {
    const lines = readFileSync(join(out, r.runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss?: number });
    assert.equal(r.loss, lines.filter((l) => typeof l.loss === 'number').at(-1)!.loss);
    assert.equal(r.stopped, 'done');
  }
  for (const key of ['loss', 'forgetProb', 'retainProb']) {
    const values = file.runs.map((r) => (key === 'loss' ? r.loss! : r.probe[key]));
    const s = file.summary[key];
    assert.equal(s.runs, 3);
    assert.equal(s.available, 3);
    assert.ok(Math.abs(s.mean! - mean(values)) < 1e-12, `${key} mean ${s.mean} vs ${mean(values)}`);
    assert.ok(Math.abs(s.sd! - sd(values)) < 1e-12, `${key} sd ${s.sd} vs ${sd(values)}`);
    assert.equal(s.min, Math.min(...values));
    assert.equal(s.max, Math.max(...values));
  }
  // The rule: forget probe below the input's, retain probe at least 80% of the input's.
  const pass = file.runs.map((r) => r.probe.forgetProb < file.input.forgetProb && r.probe.retainProb >= 0.8 * file.input.retainProb);
  assert.deepEqual(file.runs.map((r) => r.pass), pass);
  assert.equal(file.passes.passes, pass.filter(Boolean).length);
  assert.equal(file.passes.runs, 3);
  assert.equal(file.summary.forgetProb.passes, file.runs.filter((r) => r.probe.forgetProb < file.input.forgetProb).length);
  assert.ok(file.summary.forgetProb.mean! < file.input.forgetProb, 'graddiff at this rate lowers the forget probe');
});

test('a seed folder is a run lethe eval takes; --resume of a finished set runs no step again and gives the same numbers', async () => {
  const evalOut = join(dir, 'seed-6.json');
  ok(lethe(dir, 'eval', '--model', join(out, 'seed-6', 'model'), '--benchmark', 'qa', '--forget-qa', 'forget.jsonl', '--retain-qa', 'retain.jsonl', '--no-generate', '--out', evalOut));
  assert.equal((await readResults(evalOut)).model.name.length > 0, true);
  const again = ok(lethe(dir, ...ARGS, '--seed', '5', '--seeds', '3', '--resume'));
  assert.equal((again.match(/0 run now, resumed from step 6/g) ?? []).length, 3, again);
  const resumed = JSON.parse(readFileSync(join(out, 'seeds.json'), 'utf8')) as SeedsFile;
  assert.deepEqual(resumed.runs.map((r) => [r.loss, r.probe]), file.runs.map((r) => [r.loss, r.probe]));
});

test('--seeds 0, -1 and x are refused: exit 2, one line naming --seeds', () => {
  for (const n of ['0', '-1', 'x']) {
    const r = lethe(dir, ...ARGS.slice(0, -1), join(dir, `bad-${n}`), `--seeds=${n}`);
    assert.equal(r.status, 2, `--seeds ${n}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^lethe: --seeds: expected/);
    assert.equal(existsSync(join(dir, `bad-${n}`)), false, 'nothing written');
  }
});
