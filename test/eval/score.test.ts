// The shared scoring pass: its per-token values against the model's logits read directly, and
// its cache (one pass per text, however many metrics read it).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { encodePair } from '../../src/data/batches.ts';
import { plainTemplate } from '../../src/data/templates.ts';
import { Scorer } from '../../src/eval/score.ts';
import { parseConfig } from '../../src/models/formats/config.ts';
import { createModel } from '../../src/models/model.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';

const tokenizer = tofuTokenizer();
const config = parseConfig({ model_type: 'gpt2', vocab_size: tokenizer.vocabSize, n_embd: 32, n_layer: 2, n_head: 4, n_positions: 128 }, 'test config');
const model = createModel(config, { seed: 3, initStd: 0.3 });
const template = plainTemplate();
const pairs = [
  template.pair('Who wrote the book?', 'Jaime Vasquez wrote it.'),
  template.pair('Where was she born?', 'In Santiago, Chile.'),
  template.pair('Where was she born?', 'In Paris.'),
];

test('per-token log-probs, argmax and Min-K%++ statistics equal those read off the logits', async () => {
  const scorer = new Scorer(model, tokenizer, { template, batchSize: 2 });
  const scored = await scorer.score(pairs);
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['B', 'T']);
  const { logits, params } = model.forward(g, ids);
  const program = compile([ids, ...params.values()], { logits });
  for (let k = 0; k < pairs.length; k++) {
    // The whole text, split at the prompt's character boundary (test/data/token-boundaries.test.ts).
    const item = encodePair(tokenizer, pairs[k], template);
    const prompt = item.ids.slice(0, item.promptLength);
    const all = item.ids;
    const out = await program.run({ ...model.feeds(), input_ids: { dtype: 'int64', shape: [1, all.length], data: BigInt64Array.from(all, BigInt) } });
    const z = out.logits.data as Float32Array;
    const V = config.vocabSize;
    const s = scored[k];
    assert.equal(s.tokenLogprobs.length, all.length - prompt.length);
    let nll = 0;
    for (let j = 0; j < s.tokenLogprobs.length; j++) {
      const t = prompt.length - 1 + j; // position t predicts token t+1
      const row = Array.from(z.subarray(t * V, (t + 1) * V));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
      const logp = row.map((v) => v - lse);
      const mu = logp.reduce((a, l) => a + Math.exp(l) * l, 0);
      const second = logp.reduce((a, l) => a + Math.exp(l) * l * l, 0);
      assert.equal(s.labels[j], all[t + 1]);
      assert.ok(Math.abs(s.tokenLogprobs[j] - logp[all[t + 1]]) < 1e-4, `logp ${s.tokenLogprobs[j]} vs ${logp[all[t + 1]]}`);
      assert.equal(s.argmax[j], row.indexOf(max));
      assert.ok(Math.abs(s.tokenMean[j] - mu) < 1e-3);
      assert.ok(Math.abs(s.tokenVariance[j] - (second - mu * mu)) < 1e-2 * (1 + second));
      nll -= logp[all[t + 1]];
    }
    assert.ok(Math.abs(s.nll - nll) < 1e-3);
    assert.ok(Math.abs(s.ce - nll / s.tokenLogprobs.length) < 1e-4);
  }
  await program.dispose();
  await scorer.dispose();
});

test('each text is run through the model once, however often it is asked for', async () => {
  const scorer = new Scorer(model, tokenizer, { template });
  await scorer.score(pairs);
  assert.equal(scorer.passes, 3);
  await scorer.score([pairs[2], pairs[0], pairs[0]]);
  assert.equal(scorer.passes, 3);
  await scorer.score([...pairs, template.pair('New?', 'Yes.')]);
  assert.equal(scorer.passes, 4);
  await scorer.dispose();
});

test('calls of any size reuse one compiled program per length bucket (the last batch is filled)', async () => {
  const scorer = new Scorer(model, tokenizer, { template, batchSize: 2 });
  await scorer.score(pairs); // 3 texts: a full batch and a filled one
  await scorer.score([template.pair('Another?', 'Yes.')]);
  const programs = (scorer as unknown as { program: { compiledBuckets: number } }).program;
  assert.equal(programs.compiledBuckets, 1);
  assert.equal(scorer.passes, 4);
  await scorer.dispose();
});
