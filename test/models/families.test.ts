// RoPE scaling (llama3, linear, dynamic NTK, YaRN, Phi-3 longrope) and the decoders beyond Llama
// (Qwen 3, OLMo 2, Gemma, Gemma 2, Gemma 3 text, Phi-3, GPT-NeoX/Pythia, Phi-1.5/2, OPT) against the plain-PyTorch references of
// scripts/make-model-fixtures.py: logits, loss and every parameter's gradient; then saved and
// loaded back with the same Hugging Face tensor names, bytes and config.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { parseConfig, readConfig } from '../../src/models/formats/config.ts';
import { Generator } from '../../src/models/generate.ts';
import { readSafetensors, writeSafetensors } from '../../src/models/formats/safetensors.ts';
import type { LlamaConfig } from '../../src/models/formats/model-config.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { createModel, Model } from '../../src/models/model.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { compareGrads, evaluate, fixtureDir, golden, maxAbsDiff } from './golden.ts';
import { tofuTokenizer } from './tokenizer/trained.ts';

const CASES = ['rope-llama3', 'rope-linear', 'rope-dynamic', 'rope-yarn', 'phi3', 'qwen3', 'olmo2', 'gemma', 'gemma2', 'gemma3', 'gpt-neox', 'gpt-neox-sequential', 'phi', 'opt'];

for (const name of CASES) {
  test(`${name} fixture: logits within 1e-4, loss within 1e-5, every gradient within 1e-3 relative`, async (t) => {
    const model = await loadModel(fixtureDir(name));
    const gold = await golden(name);
    const { logits, loss, grads } = await evaluate(model, gold.get('input_ids')!, true);
    assert.deepEqual(logits.shape, [2, 12, 96]);
    const dLogits = maxAbsDiff(logits, gold.get('logits')!);
    const { checked, failures, worst } = compareGrads(model, grads, gold);
    t.diagnostic(`${name}: max |Δ logits| ${dLogits.toExponential(2)}, worst gradient max|Δ|/max|golden| ${worst.toExponential(2)}`);
    assert.ok(dLogits <= 1e-4, `max |Δ logits| = ${dLogits}`);
    assert.ok(Math.abs(loss - Number(gold.get('loss')!.data[0])) <= 1e-5, `loss ${loss} vs ${gold.get('loss')!.data[0]}`);
    assert.equal(checked, model.params.size);
    assert.deepEqual(failures, []);
  });
}

test('the fixtures exercise what they claim: scaled RoPE and variants change the logits', async () => {
  // Same weights, the scaling removed: the logits move (so the golden could not pass without it).
  for (const name of ['rope-llama3', 'rope-linear', 'rope-dynamic', 'rope-yarn', 'phi3']) {
    const model = await loadModel(fixtureDir(name));
    const gold = await golden(name);
    const plain = new Model({ ...(model.config as LlamaConfig), ropeScaling: null }, model.params);
    const d = maxAbsDiff((await evaluate(plain, gold.get('input_ids')!)).logits, gold.get('logits')!);
    assert.ok(d > 1e-2, `${name}: without its scaling the logits move by only ${d}`);
  }
});

for (const name of CASES) {
  test(`${name}: load(save(model)) keeps the HF tensor names and bytes, the config, and the logits`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'lethe-family-'));
    try {
      const model = await loadModel(fixtureDir(name));
      const out = join(root, 'saved');
      await saveModel(model, out);
      const saved = await readSafetensors(join(out, 'model.safetensors'));
      const original = await readSafetensors(join(fixtureDir(name), 'model.safetensors'));
      assert.deepEqual([...saved.keys()].sort(), [...original.keys()].sort());
      assert.ok(readFileSync(join(out, 'model.safetensors')).equals(readFileSync(join(fixtureDir(name), 'model.safetensors'))));
      assert.deepEqual(await readConfig(out), await readConfig(fixtureDir(name)));
      const hf = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      const src = JSON.parse(readFileSync(join(fixtureDir(name), 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(hf.rope_scaling, src.rope_scaling);
      assert.equal(hf.max_position_embeddings, src.max_position_embeddings);
      const again = await loadModel(out);
      const ids = (await golden(name)).get('input_ids')!;
      assert.equal(maxAbsDiff((await evaluate(again, ids)).logits, (await evaluate(model, ids)).logits), 0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

// KV-cache generation equals re-running the whole forward pass, per family: random models of the
// fixtures' configs with the test tokenizer's vocabulary. Gemma 2/3's window of 4 is crossed
// many times (per-layer windows in the decode graph), by host-written and in-graph caches.
// rope-dynamic is left out: transformers recomputes dynamic NTK frequencies per call while
// cached keys keep their rotation, so past the original length a cache cannot equal
// recomputation there either.
const tokenizer = tofuTokenizer();
const PROMPTS = ['The author was born in', 'Hello', 'What is the full name of the author born in Kuwait City on 08/09/1956?'];
const promptIds = PROMPTS.map((p) => tokenizer.encode(p));

async function recomputed(model: Model, prompt: number[], maxNewTokens: number): Promise<number[]> {
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', [1, 'T']);
  const out = model.forward(g, ids, { maxLength: model.config.maxPositions });
  const program = compile([ids, ...out.params.values()], { logits: out.logits }, { specialize: false });
  const seq = [...prompt];
  const V = model.config.vocabSize;
  while (seq.length < prompt.length + maxNewTokens) {
    const r = await program.run({ input_ids: { dtype: 'int64', shape: [1, seq.length], data: BigInt64Array.from(seq, BigInt) }, ...model.feeds() });
    const last = (r.logits.data as Float32Array).subarray((seq.length - 1) * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v;
    if (best === tokenizer.eosId) break;
    seq.push(best);
  }
  await program.dispose();
  return seq.slice(prompt.length);
}

for (const name of CASES.filter((n) => n !== 'rope-dynamic')) {
  test(`${name}: greedy generation with the KV cache (host and in-graph writes) equals recomputing the whole sequence`, async () => {
    const json = JSON.parse(readFileSync(join(fixtureDir(name), 'config.json'), 'utf8')) as Record<string, unknown>;
    const max = Math.max(64, json.max_position_embeddings as number);
    const extra = name === 'phi3' ? { original_max_position_embeddings: max } : {};
    const config = parseConfig({ ...json, vocab_size: tokenizer.vocabSize, max_position_embeddings: name === 'rope-yarn' ? json.max_position_embeddings : max, eos_token_id: null, ...extra }, name);
    const model = createModel(config, { seed: 7, initStd: 0.1 });
    const expected: number[][] = [];
    for (const p of promptIds) expected.push(await recomputed(model, p, 20));
    assert.ok(expected.every((e) => e.length >= 10), 'long enough completions to compare');
    for (const [cacheWrite, batchSize] of [['host', 4], ['scatter', 2]] as const) {
      const gen = new Generator(model, tokenizer, { batchSize, cacheWrite });
      assert.deepEqual(await gen.generateTokens(promptIds, { maxNewTokens: 20 }), expected, `${cacheWrite}, batch size ${batchSize}`);
      await gen.dispose();
    }
  });
}

test('OPT checkpoints saved from OPTModel (names without "model.") load as the same model', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-opt-'));
  try {
    const tensors = await readSafetensors(join(fixtureDir('opt'), 'model.safetensors'));
    const bare = new Map([...tensors].map(([n, t]) => [n.replace(/^model\./, ''), t]));
    await writeSafetensors(join(root, 'model.safetensors'), bare as never);
    copyFileSync(join(fixtureDir('opt'), 'config.json'), join(root, 'config.json'));
    const ids = (await golden('opt')).get('input_ids')!;
    const want = (await evaluate(await loadModel(fixtureDir('opt')), ids)).logits;
    assert.equal(maxAbsDiff((await evaluate(await loadModel(root), ids)).logits, want), 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
