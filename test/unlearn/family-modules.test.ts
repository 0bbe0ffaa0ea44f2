// Module names by family where a method or attack picks parameters: RMU's default scope (the MLP
// output projections of blocks ℓ−2..ℓ) and the quantisation attack's untied output head, for
// GPT-NeoX (dense_4h_to_h, embed_out), OPT (fc2, tied head), Phi (mlp.fc2, lm_head with a bias)
// and Phi-3 (down_proj beside the fused gate_up_proj). The tiny models are the golden fixtures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockLinearWeights } from '../../src/attacks/quantize.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { rmu } from '../../src/unlearn/methods/rmu.ts';
import { methodOptions } from '../../src/unlearn/methods/index.ts';
import { patternNames } from '../../src/unlearn/scope.ts';
import { fixtureDir } from '../models/golden.ts';

const CASES = [
  { fixture: 'gpt-neox', down: (l: number) => `gpt_neox.layers.${l}.mlp.dense_4h_to_h.weight`, head: 'embed_out.weight' },
  { fixture: 'opt', down: (l: number) => `model.decoder.layers.${l}.fc2.weight`, head: null },
  { fixture: 'phi', down: (l: number) => `model.layers.${l}.mlp.fc2.weight`, head: 'lm_head.weight' },
  { fixture: 'phi3', down: (l: number) => `model.layers.${l}.mlp.down_proj.weight`, head: 'lm_head.weight' },
];

for (const c of CASES) {
  test(`RMU's default scope on ${c.fixture}: the family's MLP output projections of blocks ℓ−2..ℓ, nothing else`, async () => {
    const model = await loadModel(fixtureDir(c.fixture));
    const opts = rmu.resolve!(methodOptions(rmu), model);
    assert.equal(opts.layer, Math.floor(model.config.numLayers / 2));
    const scope = rmu.scope!(opts, model);
    assert.equal(scope.kind, 'pattern');
    const names = patternNames(model, (scope as { pattern: string }).pattern);
    const expected = [opts.layer - 2, opts.layer - 1, opts.layer].filter((l) => l >= 0).map(c.down);
    assert.deepEqual([...names].sort(), expected.sort());
    for (const n of expected) assert.ok(model.params.has(n), `${n} is a parameter of the model`);
  });

  test(`quantisation on ${c.fixture}: every block linear weight, never the output head`, async () => {
    const model = await loadModel(fixtureDir(c.fixture));
    const linear = blockLinearWeights(model);
    for (let l = 0; l < model.config.numLayers; l++) assert.ok(linear.has(c.down(l)), c.down(l));
    if (c.head) {
      assert.ok(model.params.has(c.head), `${c.head} is untied in this fixture`);
      assert.ok(!linear.has(c.head), `${c.head} stays in full precision`);
    }
    for (const name of linear) {
      assert.ok(model.params.has(name), `${name} is a parameter`);
      assert.ok(!/embed/.test(name), `${name}: embeddings stay in full precision`);
    }
  });
}
