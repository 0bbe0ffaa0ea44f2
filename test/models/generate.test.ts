// Generation with the static KV cache: the token ids of greedy decoding by re-running the whole
// forward pass on the growing sequence (GPT-2, Llama with GQA and RoPE, a sliding window; the
// cache written by the host or in the graph), batched equal to one at a time, the context limit, stops (EOS, stop strings), sampling, one
// compilation per (B, L) bucket, and the errors.

import { after, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { LetheError } from '../../src/engine/errors.ts';
import { Graph } from '../../src/engine/graph.ts';
import { compile, type Program } from '../../src/engine/program.ts';
import type { LlamaConfig, ModelConfig } from '../../src/models/formats/model-config.ts';
import type { CacheWrite } from '../../src/models/decode-programs.ts';
import { cutAtStop, generate, Generator } from '../../src/models/generate.ts';
import { createModel, Model } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { tofuTokenizer } from './tokenizer/trained.ts';

const tokenizer = tofuTokenizer(); // eos = <|endoftext|>, id 0
const V = tokenizer.vocabSize;
const gpt2Config: ModelConfig = {
  ...presetConfig('gpt2-124m', { vocabSize: V, maxPositions: 64, eosTokenId: null }),
  numLayers: 2, hiddenSize: 64, numHeads: 4, numKvHeads: 4, headDim: 16, intermediateSize: 128,
};
const llamaConfig = presetConfig('tiny', { vocabSize: V, maxPositions: 64 }) as LlamaConfig; // 4 query heads, 2 kv heads
const gpt2 = createModel(gpt2Config, { seed: 1, initStd: 0.1 });
const llama = createModel(llamaConfig, { seed: 2, initStd: 0.1 });
const windowed = new Model({ ...llamaConfig, modelType: 'mistral', slidingWindow: 5 }, llama.params);

const PROMPTS = [
  'The author was born in',
  'Hello',
  'What is the full name of the author born in Kuwait City on 08/09/1956, and what genre does he write in?',
];
const promptIds = PROMPTS.map((p) => tokenizer.encode(p));

const forwardPrograms = new Map<Model, Program>();
after(async () => {
  for (const p of forwardPrograms.values()) await p.dispose();
});

/** Greedy decoding the slow way: the whole forward pass on the growing sequence, stopping at EOS (id 0). */
async function reference(model: Model, prompt: number[], maxNewTokens: number): Promise<number[]> {
  let program = forwardPrograms.get(model);
  if (!program) {
    const g = new Graph();
    const ids = g.input('input_ids', 'int64', [1, 'T']);
    const out = model.forward(g, ids);
    program = compile([ids, ...out.params.values()], { logits: out.logits }, { specialize: false });
    forwardPrograms.set(model, program);
  }
  const seq = [...prompt];
  const Vm = model.config.vocabSize;
  while (seq.length < prompt.length + maxNewTokens) {
    const r = await program.run({ input_ids: { dtype: 'int64', shape: [1, seq.length], data: BigInt64Array.from(seq, BigInt) }, ...model.feeds() });
    const last = (r.logits.data as Float32Array).subarray((seq.length - 1) * Vm);
    let best = 0;
    for (let v = 1; v < Vm; v++) if (last[v] > last[best]) best = v;
    if (best === tokenizer.eosId) break;
    seq.push(best);
  }
  return seq.slice(prompt.length);
}

type Runs = readonly (readonly [CacheWrite, number])[]; // (cache write, batch size)
const cases: (readonly [string, Model, Runs])[] = [
  ['GPT-2', gpt2, [['host', 4], ['host', 2], ['scatter', 4]]],
  ['Llama (GQA, RoPE)', llama, [['host', 4], ['scatter', 2]]],
  ['Mistral (sliding window 5)', windowed, [['host', 4], ['scatter', 4]]],
];
for (const [name, model, runs] of cases) {
  test(`${name}: greedy with the KV cache gives the ids of re-running the forward pass; batched equals one at a time`, async () => {
    const expected: number[][] = [];
    for (const p of promptIds) expected.push(await reference(model, p, 20));
    assert.ok(expected.every((e) => e.length >= 10), 'long enough completions to compare');
    for (const [cacheWrite, batchSize] of runs) {
      const gen = new Generator(model, tokenizer, { batchSize, cacheWrite });
      assert.deepEqual(await gen.generateTokens(promptIds, { maxNewTokens: 20 }), expected, `${cacheWrite}, batch size ${batchSize}`);
      await gen.dispose();
    }
    const single = new Generator(model, tokenizer, { batchSize: 1 });
    for (let i = 0; i < promptIds.length; i++) assert.deepEqual(await single.generateTokens([promptIds[i]], { maxNewTokens: 20 }), [expected[i]]);
    assert.deepEqual(await single.generate(PROMPTS, { maxNewTokens: 20 }), expected.map((e) => tokenizer.decode(e, { skipSpecialTokens: true })));
    await single.dispose();
  });
}

test('a completion stops at the context: at most maxLength − prompt length new tokens', async () => {
  const long = promptIds[2];
  const gen = new Generator(llama, tokenizer, { maxLength: long.length + 5 });
  const [a, b] = await gen.generateTokens([long, promptIds[1]], { maxNewTokens: 12 });
  assert.deepEqual(a, await reference(llama, long, 5));
  assert.deepEqual(b, await reference(llama, promptIds[1], 12)); // the other row runs on
  await gen.dispose();
});

test('the decode program compiles once per (B, L) bucket, however many tokens', async () => {
  const gen = new Generator(llama, tokenizer);
  const lengths = async (prompts: number[][], n: number) => (await gen.generateTokens(prompts, { maxNewTokens: n })).map((t) => t.length);
  assert.deepEqual(await lengths([promptIds[0]], 5), [5]); // T = 16, L = 32
  assert.deepEqual(await lengths([promptIds[0]], 16), [16]); // L = 32 still
  assert.equal(gen.decodeProgram.compiledBuckets, 1);
  assert.deepEqual(await lengths([promptIds[0], promptIds[1]], 16), [16, 16]); // B = 2
  assert.equal(gen.decodeProgram.compiledBuckets, 2);
  assert.deepEqual(await lengths([promptIds[0]], 40), [40]); // L = 64
  assert.equal(gen.decodeProgram.compiledBuckets, 3);
  await gen.dispose();
});

test('EOS ends a completion (without it), from the tokenizer or the model config', async () => {
  const full = await reference(llama, promptIds[0], 20);
  const eos = full[4];
  const cut = full.slice(0, full.indexOf(eos));
  const withEos = new Model({ ...llamaConfig, eosTokenId: [12345, eos] }, llama.params);
  const gen = new Generator(withEos, tokenizer);
  assert.deepEqual(await gen.generateTokens([promptIds[0]], { maxNewTokens: 20 }), [cut]);
  assert.deepEqual(await gen.generate([PROMPTS[0]], { maxNewTokens: 20 }), [tokenizer.decode(cut, { skipSpecialTokens: true })]);
  await gen.dispose();
});

test('a stop string cuts the completion before its first occurrence and stops generating', async () => {
  const gen = new Generator(gpt2, tokenizer);
  const [full] = await gen.generate([PROMPTS[0]], { maxNewTokens: 24 });
  const at = [...full].findIndex((_, i) => i >= 6 && /^[A-Za-z]{2}$/.test(full.slice(i, i + 2)));
  assert.ok(at > 0, `no plain letters in ${JSON.stringify(full)}`);
  const stop = full.slice(at, at + 2);
  const expected = full.slice(0, full.indexOf(stop));
  assert.deepEqual(await gen.generate([PROMPTS[0]], { maxNewTokens: 24, stop: ['never there', stop] }), [expected]);
  const [tokens] = await gen.generateTokens([tokenizer.encode(PROMPTS[0])], { maxNewTokens: 24, stop: [stop] });
  assert.ok(tokens.length < 24, 'generation stopped early');
  assert.ok(tokenizer.decode(tokens).includes(stop) && !tokenizer.decode(tokens.slice(0, -1)).includes(stop), 'the last token completed the stop string');
  assert.equal(cutAtStop('abcXYdefXY', ['de', 'XY']), 'abc');
  await gen.dispose();
});

test('sampling: top-k = 1 equals greedy; a seed repeats; another seed differs; batching does not change a prompt\'s draws', async () => {
  const gen = new Generator(llama, tokenizer, { batchSize: 4 });
  const greedy = await gen.generateTokens(promptIds, { maxNewTokens: 12 });
  assert.deepEqual(await gen.generateTokens(promptIds, { maxNewTokens: 12, temperature: 1.5, topK: 1 }), greedy);
  const sample = (seed: number, g = gen) => g.generateTokens(promptIds, { maxNewTokens: 12, temperature: 1, topP: 0.95, seed });
  const a = await sample(7);
  assert.deepEqual(await sample(7), a);
  assert.notDeepEqual(a, greedy);
  assert.notDeepEqual(await sample(8), a);
  const oneByOne = new Generator(llama, tokenizer, { batchSize: 1 });
  assert.deepEqual(await sample(7, oneByOne), a);
  await oneByOne.dispose();
  await gen.dispose();
});

test('errors: no prompts, an empty prompt, a prompt beyond the context, an id outside the vocabulary, bad options', async () => {
  const gen = new Generator(llama, tokenizer, { maxLength: 32 });
  const isLethe = (re: RegExp) => (err: unknown) => err instanceof LetheError && re.test(err.message);
  await assert.rejects(gen.generate([]), isLethe(/no prompts/));
  await assert.rejects(gen.generate(['Hello', '']), isLethe(/prompt 1 is empty/));
  await assert.rejects(gen.generate([PROMPTS[2]]), isLethe(/prompt 0 has \d+ tokens, but the context holds 32 in all/));
  await assert.rejects(gen.generateTokens([[1, 2], [3, V]]), isLethe(/prompt 1 has token id 2000, outside the model's vocabulary of 2000/));
  await assert.rejects(gen.generate(['Hello'], { temperature: -1 }), isLethe(/temperature must be a number ≥ 0/));
  await assert.rejects(gen.generate(['Hello'], { topP: 0 }), isLethe(/topP must be in \(0, 1\]/));
  await assert.rejects(gen.generate(['Hello'], { topK: 0.5 }), isLethe(/topK must be an integer ≥ 1/));
  await assert.rejects(gen.generate(['Hello'], { stop: [''] }), isLethe(/stop strings/));
  assert.deepEqual(await gen.generate(['Hello', 'Hi'], { maxNewTokens: 0 }), ['', '']);
  assert.equal(gen.decodeProgram.compiledBuckets, 0);
  await gen.dispose();
  assert.throws(() => new Generator(llama, tokenizer, { maxLength: 65 }), isLethe(/maxLength must be an integer in \[2, 64\]/));
  assert.deepEqual(await generate(llama, tokenizer, ['Hello'], { maxNewTokens: 3, addSpecialTokens: false }), [tokenizer.decode(await reference(llama, promptIds[1], 3))]);
});

test('every eos_token_id of generation_config.json ends a completion (a model folder as saved and loaded)', async () => {
  const full = await reference(llama, promptIds[0], 20);
  const eos = full[3];
  const root = mkdtempSync(join(tmpdir(), 'lethe-gen-eos-'));
  try {
    await saveModel(llama, join(root, 'm'), { files: { 'generation_config.json': JSON.stringify({ eos_token_id: [99999, eos] }) } });
    const loaded = await loadModel(join(root, 'm'));
    const gen = new Generator(loaded, tokenizer);
    assert.deepEqual(await gen.generateTokens([promptIds[0]], { maxNewTokens: 20 }), [full.slice(0, full.indexOf(eos))]);
    await gen.dispose();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
