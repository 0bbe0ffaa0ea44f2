// MUSE's protocol through the text evaluation with a tiny model: one-line documents too short for
// a 32-token prompt and a 128-token continuation are skipped and counted, a long document is
// scored, and every metric reports n and an interval. (textMetrics moves to src/pipeline with the
// refactor; this import follows it.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTofuSplit } from '../../src/data/tofu.ts';
import { EvalMeter } from '../../src/pipeline/eval-meter.ts';
import { textMetrics } from '../../src/pipeline/eval-text.ts';
import { isInterval } from '../../src/eval/stats/bootstrap.ts';
import { parseConfig } from '../../src/models/formats/config.ts';
import { createModel } from '../../src/models/model.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';

const tokenizer = tofuTokenizer();
const config = parseConfig({ model_type: 'gpt2', vocab_size: tokenizer.vocabSize, n_embd: 32, n_layer: 2, n_head: 4, n_positions: 256 }, 'test config');
const model = createModel(config, { seed: 3, initStd: 0.2 });
const items = loadTofuSplit('forget01_perturbed');

test('text evaluation: short one-line documents are skipped and counted for VerbMem, a long one is scored; KnowMem skips what does not fit', async () => {
  const lines = items.slice(0, 19).map((i) => i.answer);
  const long = items.map((i) => i.answer).join(' ');
  assert.ok(tokenizer.encode(long, { addSpecialTokens: false }).length >= 160);
  const forgetQa = items.slice(0, 6).map((i) => ({ question: i.question, answer: i.answer }));
  forgetQa.push({ question: `${'Tell me more. '.repeat(80)}?`, answer: 'nothing' });
  const r = await textMetrics(model, tokenizer, { forget: [...lines, long], holdout: items.slice(20, 40).map((i) => i.answer), forgetQa }, {
    meter: new EvalMeter(), batchSize: 8, prefixTokens: 32, maxNewTokens: 128, fewShot: 2,
  });
  const v = r.muse.verbMem;
  assert.equal(v.n, 1);
  assert.equal(v.perItem.length, 1);
  assert.equal(v.skipped?.count, 19);
  assert.match(v.skipped!.reason, /19 of 20 texts are shorter than the 32 \+ 128 tokens/);
  assert.ok(v.value !== null && v.value >= 0 && v.value <= 1);
  // One scored text has no spread to resample: no interval, and it says why.
  assert.match((v.interval as { unavailable: string }).unavailable, /at least 2 items/);
  const k = r.muse.knowMemForget;
  assert.equal(k.n, 4); // 7 items: 2 examples, 1 too long for the 256-token context
  assert.equal(k.skipped?.count, 1);
  assert.match(k.skipped!.reason, /do not fit the 256-token context/);
  assert.ok(isInterval(k.interval));
  for (const m of [r.mia.lossAuc, r.mia.minKAuc, r.memorisation.exactMemorization]) {
    assert.equal(m.n, 20);
    assert.ok(isInterval(m.interval), JSON.stringify(m.interval));
  }
});
