// resolveTrialConfig, expandSweep's `resolve` for the real runner: a trial's config carries every
// default lethe unlearn applies, so that its id hashes what runs; bad values and unknown attacks
// are rejected before anything runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../../src/engine/errors.ts';
import { toHfConfig } from '../../../src/models/formats/config.ts';
import { presetConfig } from '../../../src/models/presets.ts';
import { expandSweep, parseSweepSpec, resolveTrialConfig } from '../../../src/pipeline/sweep/index.ts';
import { LORA_LR } from '../../../src/unlearn/scope.ts';

const hash = async (p: string) => `hash-of-${p}`;
const base = { model: 'model', data: { tofuAuthors: 3, forgetAuthors: 1 } };
const expand = (spec: object) => expandSweep(parseSweepSpec({ ...base, ...spec }, 'sweep.yaml', '/x'), { hash, resolve: resolveTrialConfig });

test('a trial config carries the unlearn defaults: the same run written two ways has one id', async () => {
  const implicit = await expand({ methods: { npo: null } });
  // npo's own learning rate and TOFU's loop (5 epochs, batch 4 × 4, linear decay, warm-up one epoch, weight decay 0.01), as lethe unlearn resolves them.
  const explicit = await expand({ methods: { npo: { options: { beta: 0.1 }, loop: { lr: 1e-5, epochs: 5, batchSize: 4, accumulation: 4, schedule: 'linear', warmupEpochs: 1, weightDecay: 0.01 } } } });
  const t = implicit.trials[0];
  assert.deepEqual({ lr: t.config.loop.lr, epochs: t.config.loop.epochs, batchSize: t.config.loop.batchSize, accumulation: t.config.loop.accumulation, schedule: t.config.loop.schedule, optimizer: t.config.loop.optimizer, maxGradNorm: t.config.loop.maxGradNorm }, { lr: 1e-5, epochs: 5, batchSize: 4, accumulation: 4, schedule: 'linear', optimizer: 'adamw', maxGradNorm: 1 });
  assert.equal(t.config.options.beta, 0.1);
  assert.equal(explicit.trials[0].id, t.id);
  const other = await expand({ methods: { npo: { loop: { lr: 2e-5 } } } });
  assert.notEqual(other.trials[0].id, t.id);
});

test('LoRA: its learning rate and its r/alpha/dropout defaults are written in', async () => {
  const s = await expand({ methods: { npo: { scope: { kind: 'lora', r: [4, 8] } } } });
  assert.equal(s.trials.length, 2);
  for (const t of s.trials) {
    assert.equal(t.config.loop.lr, LORA_LR);
    assert.equal(t.config.scope?.kind, 'lora');
    assert.equal(typeof t.config.scope?.alpha, 'number');
    assert.equal(typeof t.config.scope?.dropout, 'number');
  }
  assert.deepEqual(s.trials.map((t) => t.config.scope?.r), [4, 8]);
});

test("RMU's layer −1 becomes the model's middle block: the same trial as naming that layer", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-resolve-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(toHfConfig(presetConfig('tiny', { vocabSize: 300 }))));
  const numLayers = presetConfig('tiny', { vocabSize: 300 }).numLayers;
  const spec = (options: object) => expandSweep(parseSweepSpec({ model: dir, data: base.data, methods: { rmu: { options } } }, 'sweep.yaml'), { hash, resolve: resolveTrialConfig });
  const dflt = (await spec({})).trials[0];
  assert.equal(dflt.config.options.layer, Math.floor(numLayers / 2));
  assert.equal((await spec({ layer: Math.floor(numLayers / 2) })).trials[0].id, dflt.id);
});

test('a bad loop value or an unknown attack is one LetheError naming it, before anything runs', async () => {
  await assert.rejects(expand({ methods: { ga: { loop: { batchSize: 0 } } } }), (e: Error) => e instanceof LetheError && /loop\.batchSize: expected an integer ≥ 1/.test(e.message));
  await assert.rejects(expand({ methods: { ga: { loop: { schedule: 'sometimes' } } } }), (e: Error) => e instanceof LetheError && /loop\.schedule/.test(e.message));
  await assert.rejects(expand({ attacks: ['quantize_4bit'], methods: { ga: null } }), (e: Error) => e instanceof LetheError && /unknown attack "quantize_4bit" \(known: relearn/.test(e.message));
  await assert.rejects(expand({ methods: { npo: { options: { beta: -1 } } } }), LetheError);
});
