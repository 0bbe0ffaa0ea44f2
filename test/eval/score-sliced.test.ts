// The scoring pass over a large vocabulary (nn/head.ts headScores): taken slice by slice of the
// vocabulary, every quantity the metrics read (log p of each target token, the mean and variance
// of log p over the vocabulary for Min-K%++, the argmax for memorisation) equals the whole-logits
// pass, for a tied head held in float32 and an untied one held in bfloat16 (ragged last slice).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTofuSplit } from '../../src/data/tofu.ts';
import { plainTemplate, templatePairs } from '../../src/data/templates.ts';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { Scorer } from '../../src/eval/score.ts';
import { f32ToBf16 } from '../../src/models/formats/half-float.ts';
import { createModel, Model } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';

const tokenizer = tofuTokenizer();
const template = plainTemplate();
const pairs = templatePairs(template, loadTofuSplit('forget01').slice(0, 6));

function bf16(m: Model): Model {
  const params = new Map<string, HostTensor>();
  for (const [n, t] of m.params) params.set(n, t.shape.length === 2 ? { dtype: 'bfloat16', shape: t.shape, data: f32ToBf16(t.data as Float32Array) } : t);
  return new Model(m.config, params, null, m.source);
}

for (const [label, tied, half] of [['tied, float32', true, false], ['untied, bfloat16', false, true]] as const) {
  test(`scoring slice by slice equals the whole-logits pass: ${label} head`, async () => {
    const config = presetConfig('tiny', { vocabSize: tokenizer.vocabSize, maxPositions: 128 });
    let model = createModel({ ...config, tieWordEmbeddings: tied }, { seed: 4, initStd: 0.3 });
    if (half) model = bf16(model);
    const rows = 97; // the vocabulary in ragged slices of 97 tokens
    const whole = await new Scorer(model, tokenizer, { template, batchSize: 4 }).score(pairs);
    const sliced = await new Scorer(model, tokenizer, { template, batchSize: 4, headSliceBytes: 4 * config.hiddenSize * rows }).score(pairs);
    assert.ok(tokenizer.vocabSize > 3 * rows);
    whole.forEach((w, i) => {
      const s = sliced[i];
      assert.deepEqual(Array.from(s.argmax), Array.from(w.argmax), `argmax of item ${i}`);
      assert.deepEqual(Array.from(s.labels), Array.from(w.labels));
      for (const key of ['tokenLogprobs', 'tokenMean', 'tokenVariance'] as const) {
        const a = s[key];
        const b = w[key];
        assert.equal(a.length, b.length);
        b.forEach((v, k) => assert.ok(Math.abs(a[k] - v) <= 1e-4 * (1 + Math.abs(v)), `${key}[${k}] of item ${i}: ${a[k]} vs ${v}`));
      }
      assert.ok(Math.abs(s.nll - w.nll) <= 1e-4 * (1 + w.nll));
    });
  });
}
