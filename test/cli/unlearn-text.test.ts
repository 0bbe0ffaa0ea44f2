// `lethe unlearn --forget corpus.txt --retain other.txt` on plain text corpora (one document a
// line, WMDP's forget-corpus form) with rmu, npo, graddiff and ga, and RMU's published recipe
// (--preset wmdp): each run finishes, trains on the corpus's documents, records what it ran,
// and changes only what its scope allows.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModelAndTokenizer } from '../../src/models/load-model.ts';
import { lethe, tinyModelDir } from '../helpers/tiny-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-unlearn-text-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const model = join(dir, 'model-in');

// Made-up facts in the capability case's style (data/capability): 12 forget and 12 retain documents.
const forget = Array.from({ length: 12 }, (_, i) => `The Rokalo-${i} relay uses handshake mode ${['Vessel', 'Tarn', 'Orrin'][i % 3]} and ${i + 2} ports.`);
const retain = Array.from({ length: 12 }, (_, i) => `Quillan alloy ${i} is quenched in ${['brine', 'oil', 'ash'][i % 3]} and glows ${['amber', 'teal'][i % 2]}.`);

before(async () => {
  await tinyModelDir(model, 3);
  writeFileSync(join(dir, 'corpus.txt'), forget.join('\n') + '\n');
  writeFileSync(join(dir, 'other.txt'), retain.join('\n') + '\n');
});

function ok(r: ReturnType<typeof lethe>): string {
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

const steps = (out: string) => readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });

/** Names of the parameters whose values differ between the input model and the run's. */
async function changed(out: string): Promise<string[]> {
  const a = (await loadModelAndTokenizer(model)).model;
  const b = (await loadModelAndTokenizer(join(out, 'model'))).model;
  return [...a.params.keys()].filter((n) => {
    const [x, y] = [a.params.get(n)!.data as Float32Array, b.params.get(n)!.data as Float32Array];
    return x.some((v, i) => v !== y[i]);
  });
}

for (const method of ['rmu', 'npo', 'graddiff', 'ga']) {
  test(`unlearn --method ${method} --forget corpus.txt --retain other.txt: one step per batch of documents, weights moved`, async () => {
    const out = join(dir, method);
    ok(lethe(dir, 'unlearn', '--model', model, '--method', method, '--forget', 'corpus.txt', '--retain', 'other.txt', '--epochs', '1', '--batch-size', '4', '--accumulation', '1', '--lr', '1e-3', '--out', out));
    const log = steps(out);
    assert.equal(log.length, 3); // 12 documents, batches of 4
    assert.ok(log.every((l) => Number.isFinite(l.loss)));
    const config = readFileSync(join(out, 'config.yaml'), 'utf8');
    assert.match(config, /^forget: .*corpus\.txt$/m);
    assert.match(config, /^retain: .*other\.txt$/m);
    const moved = await changed(out);
    assert.ok(moved.length > 0, 'no weight changed');
    // RMU updates only the MLP down-projections of blocks ℓ−2..ℓ (ℓ = 1, the middle of 2 blocks).
    if (method === 'rmu') assert.deepEqual(moved.sort(), ['model.layers.0.mlp.down_proj.weight', 'model.layers.1.mlp.down_proj.weight']);
  });
}

test('unlearn --method rmu --preset wmdp on text corpora: block 0 of 2 (7/32 of the depth), its down-projection alone, one pass of batches of 4', async () => {
  const out = join(dir, 'rmu-wmdp');
  const stdout = ok(lethe(dir, 'unlearn', '--model', model, '--method', 'rmu', '--preset', 'wmdp', '--forget', 'corpus.txt', '--retain', 'other.txt', '--out', out));
  assert.equal(steps(out).length, 3);
  assert.deepEqual(await changed(out), ['model.layers.0.mlp.down_proj.weight']);
  const config = readFileSync(join(out, 'config.yaml'), 'utf8');
  for (const line of [/^preset: wmdp$/m, /^ {2}steeringCoef: 6\.5$/m, /^ {2}alpha: 1200$/m, /^ {2}layer: 0$/m, /^lr: 0\.00005$|^lr: 5e-5$/m, /^epochs: 1$/m, /^batchSize: 4$/m, /^weightDecay: 0$/m, /^maxGradNorm: 0$/m]) assert.match(config, line);
  assert.match(stdout, /rmu \(scope pattern:\^\(model\\\.layers\\\.0\\\.mlp\\\.down_proj\\\.weight\)\$/);
  // Another method with the preset: exit 2, one line.
  const r = lethe(dir, 'unlearn', '--model', model, '--method', 'npo', '--preset', 'wmdp', '--forget', 'corpus.txt', '--out', join(dir, 'bad'));
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /--preset wmdp is RMU's published recipe: use it with --method rmu/);
});
