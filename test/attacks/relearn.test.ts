// Relearning on a tiny model: trained on three TOFU authors until it knows them, one author
// unlearned with GradDiff, then fine-tuning on 10% of that author's items (2 of 20) brings part
// of the forget Prob back, on the whole forget set and on the 18 items it did not relearn.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Probe } from '../../src/attacks/probe.ts';
import { relearnAttack, relearnLr } from '../../src/attacks/relearn.ts';
import { chooseIndices, type AttackContext } from '../../src/attacks/attack-context.ts';
import { LetheError } from '../../src/engine/errors.ts';
import { mergeLora } from '../../src/models/lora.ts';
import type { Model } from '../../src/models/model.ts';
import { tinyTofuTarget } from '../helpers/tiny-target.ts';
import { unlearn } from '../../src/unlearn/run.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-relearn-test-'));

after(() => rmSync(dir, { recursive: true, force: true }));

let ctx: AttackContext;
let unlearned: Model;

before(async () => {
  // The shared tiny target (the end-to-end test's recipe): it learned the three authors.
  const { tokenizer, target, template, subset, forget, retain } = await tinyTofuTarget();
  unlearned = (await unlearn(target, tokenizer, {
    method: 'graddiff', forget, retain, template, lr: 5e-4, optimizer: { kind: 'adamw', weightDecay: 0 },
    epochs: 5, batchSize: 8, seed: 3, runDir: join(dir, 'unlearn'),
  })).model;
  ctx = { tokenizer, template, forgetSet: subset.forgetSet, retainSet: subset.retainSet };
  const probe = new Probe({ model: target }, ctx);
  ctx.targetForgetProbs = (await probe.standard()).prob;
  await probe.dispose();
});

test('relearning 10% of the forget set brings part of the forgotten Prob back, on held-out items too', async () => {
  const weights = new Map([...unlearned.params].map(([n, t]) => [n, Float32Array.from(t.data as Float32Array)]));
  const probe = new Probe({ model: unlearned }, ctx);
  const r = await relearnAttack(probe, { seed: 0 });
  await probe.dispose();
  console.log(JSON.stringify(r));
  const target = ctx.targetForgetProbs!.reduce((a, b) => a + b, 0) / 20;
  assert.ok(target > r.before.forgetProb + 0.1, 'unlearning removed something to bring back');
  assert.equal(r.name, 'relearn');
  assert.deepEqual(r.details.relearnedItems, chooseIndices(20, 2, 0));
  assert.equal(r.details.samples, 2);
  assert.equal(r.details.steps, 30);
  assert.ok(r.after.forgetProb > r.before.forgetProb, `after ${r.after.forgetProb} ≤ before ${r.before.forgetProb}`);
  assert.ok(r.recovered! > 0 && r.recovered! <= 1, `recovered ${r.recovered}`);
  assert.ok(Math.abs(r.recovered! - (r.after.forgetProb - r.before.forgetProb) / (target - r.before.forgetProb)) < 1e-9);
  assert.ok(r.after.heldOutForgetProb! > r.before.heldOutForgetProb!, 'items not relearned come back too');
  assert.ok((r.details.heldOutRecovered as number) > 0);
  for (const [n, t] of unlearned.params) assert.deepEqual(t.data, weights.get(n), `the attacked model's ${n} changed`);
});

test('relearning on related data (retain items) runs and holds every forget item out', async () => {
  const probe = new Probe({ model: unlearned }, ctx);
  const r = await relearnAttack(probe, { data: 'retain', steps: 5 });
  await probe.dispose();
  assert.equal(r.name, 'relearn_retain');
  assert.equal(r.details.samples, 2);
  assert.equal(r.after.heldOutForgetProb, undefined);
  assert.notEqual(r.after.forgetProb, r.before.forgetProb);
  assert.notEqual(r.after.retainProb, r.before.retainProb);
});

test('relearn: defaults and bad options', async () => {
  assert.equal(relearnLr({ hiddenSize: 4096 }), 1e-5);
  assert.ok(Math.abs(relearnLr({ hiddenSize: 64 }) - 8e-5) < 1e-12);
  const probe = new Probe({ model: unlearned }, ctx);
  await assert.rejects(relearnAttack(probe, { fraction: 0 }), LetheError);
  await assert.rejects(relearnAttack(probe, { steps: 0 }), LetheError);
  await probe.dispose();
});

test('relearning a LoRA result fine-tunes its merged weights: the outcome of relearning mergeLora of it', async () => {
  // The demo's npo-lora after-relearn once scored the relearned base without the adapters.
  const { tokenizer, target, template, forget, retain } = await tinyTofuTarget();
  const lora = (await unlearn(target, tokenizer, {
    method: 'npo', forget, retain, template, lr: 1e-3, optimizer: { kind: 'adamw', weightDecay: 0 }, scope: { kind: 'lora', r: 4, alpha: 8, dropout: 0 },
    epochs: 2, batchSize: 8, seed: 3, runDir: join(dir, 'unlearn-lora'),
  })).model;
  assert.ok(lora.lora, 'a LoRA result with its adapters beside the base');
  const outcome = async (m: Model) => {
    const probe = new Probe({ model: m }, ctx);
    const r = await relearnAttack(probe, { seed: 0, steps: 5 });
    await probe.dispose();
    return r;
  };
  const [viaLora, viaMerged] = [await outcome(lora), await outcome(mergeLora(lora))];
  assert.ok(Math.abs(viaLora.before.forgetProb - viaMerged.before.forgetProb) < 1e-6, `${viaLora.before.forgetProb} vs ${viaMerged.before.forgetProb}`);
  assert.ok(Math.abs(viaLora.after.forgetProb - viaMerged.after.forgetProb) < 1e-6, `after relearning: ${viaLora.after.forgetProb} vs ${viaMerged.after.forgetProb}`);
  assert.notEqual(viaLora.after.forgetProb, viaLora.before.forgetProb);
});
