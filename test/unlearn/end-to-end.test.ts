// End to end on a tiny model: train it on three TOFU authors until it knows them, then unlearn
// one author with every method. Every method must lower the forget set's mean answer
// probability; GradDiff, NPO, SimNPO and RMU must lower it at least twice as much, relatively,
// as they lower the retain set's. Learning rates are per method (what a user would tune); RMU
// uses α = 10, c = 20, as its published α (100–1200) is calibrated for 7B-model activations.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadTofuIdk } from '../../src/data/tofu.ts';
import { plainTemplate, type PromptPair } from '../../src/data/templates.ts';
import { Scorer } from '../../src/eval/score.ts';
import type { Model } from '../../src/models/model.ts';
import type { Tokenizer } from '../../src/models/tokenizer/tokenizer.ts';
import { METHODS } from '../../src/unlearn/methods/index.ts';
import { tinyTofuTarget } from '../helpers/tiny-target.ts';
import { unlearn } from '../../src/unlearn/run.ts';

const template = plainTemplate();
let forget: PromptPair[];
let retain: PromptPair[];
const dir = mkdtempSync(join(tmpdir(), 'lethe-e2e-'));

let tokenizer: Tokenizer;
let target: Model;
let before0: { forget: number; retain: number };

async function meanProbs(model: Model): Promise<{ forget: number; retain: number }> {
  const scorer = new Scorer(model, tokenizer, { template });
  const mean = (xs: { ce: number }[]) => xs.reduce((a, x) => a + Math.exp(-x.ce), 0) / xs.length;
  const result = { forget: mean(await scorer.score(forget)), retain: mean(await scorer.score(retain)) };
  await scorer.dispose();
  return result;
}

before(async () => {
  // The shared tiny target: three TOFU authors learned over 40 epochs (test/helpers/tiny-target.ts).
  ({ tokenizer, target, forget, retain } = await tinyTofuTarget());
  before0 = await meanProbs(target);
});

test('the target model has learned the authors (forget and retain Prob far above chance)', () => {
  assert.ok(before0.forget > 0.2 && before0.retain > 0.2, JSON.stringify(before0));
});

const settings: Record<string, { lr: number; epochs?: number; options?: Record<string, number> }> = {
  ga: { lr: 1e-3 },
  // 5e-4 before answers were tokenised as part of the whole text; since, their first token holds
  // the prompt's trailing space ("ĠBasil", "ĠYes" instead of "Ġ" | "Basil") and 5e-4 gave forget
  // −59%, retain −33%; 3e-4 gives −30%, −10%.
  graddiff: { lr: 3e-4 },
  npo: { lr: 1e-3, epochs: 8 }, // NPO's bounded loss saturates; later steps let the retain term repair utility
  simnpo: { lr: 3e-3 },
  idkdpo: { lr: 1e-3 },
  rmu: { lr: 1e-2, epochs: 10, options: { alpha: 10, steeringCoef: 20 } },
  wga: { lr: 1e-3 },
  satimp: { lr: 1e-3 },
  undial: { lr: 1e-3 },
  'ce-u': { lr: 1e-3 },
};
const selective = new Set(['graddiff', 'npo', 'simnpo', 'rmu']);

test('every registered method is exercised here', () => assert.deepEqual(Object.keys(settings).sort(), Object.keys(METHODS).sort()));

for (const [method, s] of Object.entries(settings)) {
  test(`${method} lowers the forget set's answer probability${selective.has(method) ? ', at least twice as much as the retain set\'s' : ''}`, async () => {
    const { model, loop } = await unlearn(target, tokenizer, {
      method, methodOptions: s.options, forget, retain, idk: loadTofuIdk(), template,
      lr: s.lr, optimizer: { kind: 'adamw', weightDecay: 0 }, epochs: s.epochs ?? 5, batchSize: 8, seed: 3,
      runDir: join(dir, method),
    });
    assert.equal(loop.stopped, 'done');
    const after = await meanProbs(model);
    const dropForget = (before0.forget - after.forget) / before0.forget;
    const dropRetain = (before0.retain - after.retain) / before0.retain;
    console.log(`${method}: forget Prob ${before0.forget.toFixed(3)} → ${after.forget.toFixed(3)} (−${(100 * dropForget).toFixed(1)}%), retain ${before0.retain.toFixed(3)} → ${after.retain.toFixed(3)} (−${(100 * dropRetain).toFixed(1)}%)`);
    assert.ok(after.forget < before0.forget, 'forget Prob falls');
    if (selective.has(method)) assert.ok(dropForget >= 2 * dropRetain, `relative drop forget ${dropForget.toFixed(3)} vs retain ${dropRetain.toFixed(3)}`);
  });
}
