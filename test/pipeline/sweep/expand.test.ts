// Sweep files and their expansion, without running anything: the schema's one-line errors, grid
// and random expansion, stable content-hash ids, the sweep.json schema and idempotent recording.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { LetheError } from '../../../src/engine/errors.ts';
import { canonicalJson, expandSweep, HashCache, hashPath, parseSweepFile, parseSweepSpec, readSweepSpec, trialId, type SweepFile } from '../../../src/pipeline/sweep/index.ts';
import { newSweepFile, recordDone, recordFailed, recordStart } from '../../../src/pipeline/sweep/sweep-file.ts';
import { checkReachable, connectionFromUrl } from '../../../src/pipeline/sweep/queue-connection.ts';
import { formatProgress, sweepProgress } from '../../../src/pipeline/sweep/progress.ts';
import type { SweepView } from '../../../src/report/sweep-analysis.ts';
import { alteredModelCopy, makeSweepSetup } from './sweep-setup.ts';

const base = { model: 'm', data: { forget: 'f.jsonl', retain: 'r.jsonl' }, methods: { npo: { options: { beta: [0.1, 0.5] } } } };
const errorOf = (json: unknown): string => {
  try {
    parseSweepSpec(json, 'sweep.yaml', '/base');
  } catch (err) {
    assert.ok(err instanceof LetheError, String(err));
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail('expected an error');
};

test('bad sweep files get one line naming the file and the field', () => {
  assert.equal(errorOf({ ...base, methods: { npo: { options: { bta: 1 } } } }), 'sweep.yaml: methods.npo.options.bta: npo has no such option (its options: beta, gamma, alpha, retain)');
  assert.match(errorOf({ ...base, methods: { nope: null } }), /^sweep\.yaml: methods\.nope: unknown method \(known: ga, /);
  assert.equal(errorOf({ ...base, methods: { npo: { options: { beta: { uniform: [0.1, 1] } } } } }), 'sweep.yaml: methods.npo.options.beta: a range needs search: {random: …}; a grid takes a list of values');
  assert.equal(errorOf({ ...base, sedes: [1] }), 'sweep.yaml: sedes: unknown field');
  assert.equal(errorOf({ ...base, loop: { lrr: 1 } }), 'sweep.yaml: loop.lrr: unknown loop setting (known: lr, epochs, batchSize, accumulation, schedule, warmupSteps, warmupEpochs, weightDecay, maxGradNorm, optimizer, rho, momentum, sam, contextLength, evalEvery, evalItems, keep, gradientCheckpointing, optimizerState)');
  assert.equal(errorOf({ ...base, data: { retain: 'r.jsonl' } }), 'sweep.yaml: data: give one forget set: forget (a file), tofuForget (a split), or tofuAuthors with forgetAuthors');
  assert.equal(errorOf({ ...base, model: undefined }), 'sweep.yaml: model: give model (one path) or models (a list), exactly one of them');
  assert.equal(errorOf({ ...base, seeds: [] }), 'sweep.yaml: seeds: expected at least one seed');
  assert.match(errorOf({ ...base, methods: { npo: { options: { beta: { uniform: [1, 0.1] } } } }, search: { random: { trials: 3 } } }), /^sweep\.yaml: methods\.npo\.options\.beta: /);
  assert.match(errorOf({ ...base, selection: { constraints: [{ metric: 'modelUtility' }] } }), /^sweep\.yaml: selection\.constraints\[0\]: give atLeast or atMost$/);
  assert.match(errorOf({ ...base, data: { tofuForget: 'forget07' } }), /^sweep\.yaml: data\.tofuForget: /);
});

test('a sweep file read from YAML: relative paths against its folder, defaults applied', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-spec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'sweep.yaml'), 'model: models/target\ndata: {tofuForget: forget05}\nmethods: {ga: }\n');
  const spec = readSweepSpec(join(dir, 'sweep.yaml'));
  assert.equal(spec.model, join(dir, 'models/target'));
  assert.deepEqual(spec.seeds, [0]);
  assert.deepEqual(spec.selection, { maximize: 'forgetQuality', constraints: [{ metric: 'modelUtility', atLeast: 0.9, of: 'target' }] });
  writeFileSync(join(dir, 'bad.yaml'), 'model: [unclosed\n');
  assert.throws(() => readSweepSpec(join(dir, 'bad.yaml')), (e: Error) => e instanceof LetheError && /bad\.yaml:\d+:\d+: not valid YAML/.test(e.message));
});

test('a grid expands to methods × settings × seeds with stable content-hash ids', async () => {
  const setup = makeSweepSetup([0, 1]);
  const spec = readSweepSpec(setup.specPath);
  const sweep = await expandSweep(spec);
  assert.equal(sweep.trials.length, 2 * 3 * 2);
  const ids = sweep.trials.map((t) => t.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ids.every((id) => /^[0-9a-f]{16}$/.test(id)));
  // Same file again: same ids, same order.
  assert.deepEqual((await expandSweep(spec)).trials.map((t) => t.id), ids);
  // Swept fields only in params; the method's defaults fill its options.
  const first = sweep.trials[0];
  assert.deepEqual(first.params, { 'options.gamma': 0.5 });
  assert.deepEqual(first.config.options, { gamma: 0.5, alpha: 0, retain: 'none' });
  assert.deepEqual(first.config.loop, { epochs: 4, lr: 1e-5 });
  assert.equal(first.config.model.hash.slice(0, 7), 'sha256:');
  // Seeds of one setting share settingId.
  assert.equal(sweep.trials[0].settingId, sweep.trials[1].settingId);
  assert.notEqual(sweep.trials[0].id, sweep.trials[1].id);
  assert.equal(trialId(first.config), first.id);
});

test('ids follow input contents, not paths: a moved copy keeps them, a changed model changes them', async () => {
  const setup = makeSweepSetup([0]);
  const spec = readSweepSpec(setup.specPath);
  const ids = (await expandSweep(spec)).trials.map((t) => t.id);
  const moved = join(setup.root, 'elsewhere');
  cpSync(setup.model, moved, { recursive: true });
  assert.deepEqual((await expandSweep({ ...spec, model: moved })).trials.map((t) => t.id), ids);
  const changed = await expandSweep({ ...spec, model: alteredModelCopy(setup) });
  assert.ok(changed.trials.every((t, i) => t.id !== ids[i]));
  // Keeping the models changes no result, so no id.
  assert.deepEqual((await expandSweep({ ...spec, keepModels: true })).trials.map((t) => t.id), ids);
  // A setting change changes the id.
  const other = await expandSweep({ ...spec, loop: { epochs: 4, lr: 2e-5 } });
  assert.ok(other.trials.every((t, i) => t.id !== ids[i]));
});

test('a random search draws the same points for the same seed, inside the ranges', async () => {
  const setup = makeSweepSetup([0]);
  const spec = {
    ...readSweepSpec(setup.specPath),
    search: { random: { trials: 5, seed: 3 } },
    methods: { npo: { options: { beta: { logUniform: [0.01, 1] as [number, number] } }, loop: { epochs: { intUniform: [1, 3] as [number, number] }, schedule: ['linear', 'cosine'] } } },
  };
  const a = await expandSweep(spec);
  const b = await expandSweep(spec);
  assert.equal(a.trials.length, 5);
  assert.deepEqual(a.trials.map((t) => t.params), b.trials.map((t) => t.params));
  for (const t of a.trials) {
    const beta = t.params['options.beta'] as number;
    assert.ok(beta >= 0.01 && beta <= 1);
    assert.ok([1, 2, 3].includes(t.params['loop.epochs'] as number));
    assert.ok(['linear', 'cosine'].includes(t.params['loop.schedule'] as string));
  }
  const c = await expandSweep({ ...spec, search: { random: { trials: 5, seed: 4 } } });
  assert.notDeepEqual(c.trials.map((t) => t.params), a.trials.map((t) => t.params));
});

test('canonical JSON sorts keys at every level', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: null }, u: undefined }), '{"a":{"c":null,"d":[2,{"x":0,"y":1}]},"b":1}');
});

test('sweep.json: schema-checked, recording by trial id is idempotent, progress counts and ETA', async () => {
  const setup = makeSweepSetup([0]);
  const sweep = await expandSweep(readSweepSpec(setup.specPath));
  const file = newSweepFile(sweep, new Date('2026-01-01T00:00:00Z'));
  // sweep.json's trials are what the report's analysis reads.
  const view: SweepView = file;
  assert.equal(view.trials.length, 6);
  const [t0, t1] = sweep.trials;
  const outcome = { metrics: { forgetQuality: { value: 0.1, interval: null }, modelUtility: { value: 0.5, interval: [0.4, 0.6] as [number, number] } } };
  const second = { metrics: { forgetQuality: { value: 0.9, interval: null } } };
  assert.equal(recordStart(file, t0.id, new Date('2026-01-01T00:00:00Z')), true);
  assert.equal(recordDone(file, t0.id, { outcome, startedAt: new Date('2026-01-01T00:00:00Z'), finishedAt: new Date('2026-01-01T00:00:10Z') }), true);
  assert.equal(recordDone(file, t0.id, { outcome: second, startedAt: new Date(), finishedAt: new Date() }), false, 'a second result for the same trial is ignored');
  assert.equal(recordFailed(file, t0.id, 'late failure', new Date()), false);
  assert.deepEqual(file.trials[0].metrics, outcome.metrics);
  assert.equal(file.trials[0].timings.seconds, 10);
  recordStart(file, t1.id, new Date());
  const p = sweepProgress(file);
  assert.deepEqual([p.done, p.running, p.failed, p.pending, p.total], [1, 1, 0, 4, 6]);
  assert.equal(p.etaSeconds, 50);
  assert.equal(formatProgress(p), '1/6 done, 1 running, 0 failed, 4 pending, ETA 50 s');
  recordStart(file, sweep.trials[2].id, new Date(), { id: 'host-a:12', dir: '/w/trials/x' });
  const q = sweepProgress(file);
  assert.deepEqual(q.workers, ['host-a:12']);
  assert.equal(q.etaSeconds, (10 * 5) / 2, '5 trials left, two running at once');
  assert.equal(formatProgress(q), '1/6 done, 2 running on 1 worker, 0 failed, 3 pending, ETA 25 s');
  const json = JSON.parse(JSON.stringify(file)) as SweepFile;
  assert.deepEqual(parseSweepFile(json, 'sweep.json'), json);
  assert.throws(() => parseSweepFile({ ...json, schema: 'lethe.sweep/0' }, 'sweep.json'), /sweep\.json: schema: expected "lethe\.sweep\/1", got "lethe\.sweep\/0"/);
  const bad = JSON.parse(JSON.stringify(file)) as { trials: { metrics?: unknown }[] };
  bad.trials[0].metrics = { forgetQuality: { value: null } };
  assert.throws(() => parseSweepFile(bad, 'sweep.json'), /sweep\.json: trials\[0\]\.metrics\.forgetQuality\.unavailable: value is null but "unavailable" does not say why/);
});

test('the example sweep file (the demo settings search) is a valid sweep file; a label names a second entry of a method', () => {
  const spec = readSweepSpec(join(import.meta.dirname, '..', '..', '..', 'examples', 'sweep-demo-settings.yaml'));
  assert.deepEqual(Object.keys(spec.methods), ['ga', 'graddiff', 'npo', 'simnpo', 'idkdpo', 'rmu', 'ce-u', 'npo-lora']);
  assert.equal(spec.methods['npo-lora']!.method, 'npo');
  assert.deepEqual(spec.seeds, [1, 2, 3]);
});

test('a labelled entry runs its method under its label', async () => {
  const setup = makeSweepSetup([0]);
  const spec = readSweepSpec(setup.specPath);
  const sweep = await expandSweep({ ...spec, methods: { npo: { options: { beta: [0.1] } }, 'npo-lora': { method: 'npo', scope: { kind: 'lora', r: [4, 8] } } } });
  assert.deepEqual(sweep.trials.map((t) => [t.method, t.config.method, t.params]), [
    ['npo', 'npo', {}],
    ['npo-lora', 'npo', { 'scope.r': 4 }],
    ['npo-lora', 'npo', { 'scope.r': 8 }],
  ]);
  assert.match(errorOf({ ...base, methods: { x: { method: 'nope' } } }), /^sweep\.yaml: methods\.x\.method: unknown method "nope" \(known: /);
});

test('content hashes: a folder hashes its files by relative path, size and bytes; the cache notices a changed file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-hash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.bin'), 'ab');
  writeFileSync(join(dir, 'b.bin'), 'c');
  const h1 = await hashPath(dir);
  // The same bytes split differently between files is another folder.
  writeFileSync(join(dir, 'a.bin'), 'a');
  writeFileSync(join(dir, 'b.bin'), 'bc');
  assert.notEqual(await hashPath(dir), h1);
  const cache = new HashCache();
  const before = await cache.hash(dir);
  assert.equal(before, await hashPath(dir));
  writeFileSync(join(dir, 'b.bin'), 'bcd');
  assert.equal(await cache.hash(dir), await hashPath(dir));
  assert.notEqual(await cache.hash(dir), before);
  await assert.rejects(hashPath(join(dir, 'missing')), /missing: not found \(an input of the sweep\)/);
});

test('a queue URL that is not redis://, or where nothing answers, is one clear line', async () => {
  assert.throws(() => connectionFromUrl('http://localhost:6379'), /^LetheError: --queue: expected redis:\/\/HOST:PORT, got "http:\/\/localhost:6379" \(scheme http:\)$/);
  assert.deepEqual(connectionFromUrl('redis://:secret@10.0.0.2:7000/2'), { host: '10.0.0.2', port: 7000, db: 2, password: 'secret', maxRetriesPerRequest: null });
  // A port nobody listens on: take a free one and close it.
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  await assert.rejects(checkReachable(`redis://127.0.0.1:${port}`), (e: Error) => e instanceof LetheError && e.message === `--queue redis://127.0.0.1:${port}: cannot reach Redis (ECONNREFUSED)`);
});
