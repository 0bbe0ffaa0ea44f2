// The Model: presets and initialisation, symbolic batch and sequence sizes, causality, hidden
// states per block, padding with an attention mask, Mistral's sliding window, and several
// forward passes (or models) in one graph.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { LetheError, ShapeError } from '../../src/engine/errors.ts';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { expectedTensorShapes } from '../../src/models/formats/tensor-shapes.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { createModel, Model } from '../../src/models/model.ts';
import { PRESETS, presetConfig } from '../../src/models/presets.ts';
import { evaluate, fixtureDir, maxAbsDiff } from './golden.ts';

const ids = (rows: number[][]): HostTensor => ({ dtype: 'int64', shape: [rows.length, rows[0].length], data: BigInt64Array.from(rows.flat(), BigInt) });

/** Rows [t0, t1) of position axis 1 of a [B, T, V] tensor, for row b. */
function positions(t: HostTensor, b: number, t0: number, t1: number): HostTensor {
  const [, T, V] = t.shape;
  const data = (t.data as Float32Array).slice((b * T + t0) * V, (b * T + t1) * V);
  return { dtype: 'float32', shape: [1, t1 - t0, V], data };
}

test('presets: gpt2-124m has GPT-2 small\'s 124,439,808 parameters; every preset builds its HF tensor table', () => {
  const count = (name: keyof typeof PRESETS) => [...expectedTensorShapes(PRESETS[name]).values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  assert.equal(count('gpt2-124m'), 124_439_808);
  assert.ok(count('small') > 1.5e6 && count('small') < 3e6);
  assert.equal(presetConfig('tiny', { vocabSize: 300 }).vocabSize, 300);
  assert.throws(() => presetConfig('huge'), /unknown model preset/);
});

test('createModel: engine layout, norms at 1, biases at 0, N(0, 0.02²) matrices, same seed same weights', () => {
  const config = presetConfig('tiny', { vocabSize: 100 });
  const a = createModel(config, { seed: 1 });
  const b = createModel(config, { seed: 1 });
  const c = createModel(config, { seed: 2 });
  assert.deepEqual([...a.params.keys()], a.baseNames());
  assert.deepEqual(a.params.get('model.layers.0.self_attn.k_proj.weight')!.shape, [64, 32]); // [in, out]
  assert.ok((a.params.get('model.norm.weight')!.data as Float32Array).every((v) => v === 1));
  const w = a.params.get('model.layers.1.mlp.up_proj.weight')!.data as Float32Array;
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std - 0.02) < 0.001, `std ${std}`);
  assert.equal(maxAbsDiff(a.params.get('model.embed_tokens.weight')!, b.params.get('model.embed_tokens.weight')!), 0);
  assert.ok(maxAbsDiff(a.params.get('model.embed_tokens.weight')!, c.params.get('model.embed_tokens.weight')!) > 0);
  const gpt2 = createModel({ ...PRESETS['gpt2-124m'], numLayers: 1, hiddenSize: 64, numHeads: 4, numKvHeads: 4, headDim: 16, intermediateSize: 256, vocabSize: 50 });
  assert.ok((gpt2.params.get('transformer.h.0.attn.c_attn.bias')!.data as Float32Array).every((v) => v === 0));
});

test('one program serves several batch and sequence sizes; logits at t depend only on tokens up to t', async () => {
  for (const family of ['tiny', 'gpt2'] as const) {
    const config = family === 'tiny'
      ? presetConfig('tiny', { vocabSize: 50 })
      : { ...PRESETS['gpt2-124m'], numLayers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 4, headDim: 8, intermediateSize: 128, vocabSize: 50, maxPositions: 16 };
    const model = createModel(config, { seed: 3, initStd: 0.3 });
    const g = new Graph();
    const input = g.input('input_ids', 'int64', ['B', 'T']);
    const out = model.forward(g, input);
    const program = compile([input, ...out.params.values()], { logits: out.logits });
    const long = await program.run({ input_ids: ids([[1, 7, 3, 9, 4, 2, 8], [5, 5, 6, 1, 0, 3, 2], [9, 8, 7, 6, 5, 4, 3]]), ...model.feeds() });
    const short = await program.run({ input_ids: ids([[5, 5, 6, 1, 0]]), ...model.feeds() });
    assert.equal(program.compiledBuckets, 2);
    assert.deepEqual(long.logits.shape, [3, 7, 50]);
    assert.ok(maxAbsDiff(positions(long.logits, 1, 0, 5), short.logits) <= 1e-5, family);
    await program.dispose();
  }
});

test('hidden[ℓ] is the residual stream after block ℓ: a model cut after block ℓ gives the same', async () => {
  const model = await loadModel(fixtureDir('llama-gqa'));
  const cut = new Model({ ...model.config, numLayers: 1 }, new Map([...model.params].filter(([n]) => !n.includes('layers.1.'))));
  const run = async (m: Model) => {
    const g = new Graph();
    const input = g.input('input_ids', 'int64', ['B', 'T']);
    const out = m.forward(g, input);
    assert.equal(out.hidden.length, m.config.numLayers);
    assert.equal(out.kv.length, m.config.numLayers);
    const program = compile([input, ...out.params.values()], { h0: out.hidden[0] });
    return (await program.run({ input_ids: ids([[3, 4, 5, 6]]), ...m.feeds() })).h0;
  };
  const full = await run(model);
  assert.deepEqual(full.shape, [1, 4, 32]);
  assert.equal(maxAbsDiff(full, await run(cut)), 0);
});

test('left padding with an attention mask and position ids gives the unpadded logits', async () => {
  for (const name of ['llama-gqa', 'gpt2']) {
    const model = await loadModel(fixtureDir(name));
    const g = new Graph();
    const input = g.input('input_ids', 'int64', ['B', 'T']);
    const mask = g.input('attention_mask', 'float32', ['B', 'T']);
    const pos = g.input('position_ids', 'int64', ['B', 'T']);
    const out = model.forward(g, input, { attentionMask: mask, positionIds: pos });
    const program = compile([input, mask, pos, ...out.params.values()], { logits: out.logits });
    const tokens = [11, 22, 33, 44, 55];
    const r = await program.run({
      input_ids: ids([[0, 0, ...tokens], [...tokens, 7, 7]]),
      attention_mask: { dtype: 'float32', shape: [2, 7], data: Float32Array.of(0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1) },
      position_ids: ids([[0, 0, 0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5, 6]]),
      ...model.feeds(),
    });
    const d = maxAbsDiff(positions(r.logits, 0, 2, 7), positions(r.logits, 1, 0, 5));
    assert.ok(d <= 1e-5, `${name}: ${d}`);
    await program.dispose();
  }
});

test('Mistral sliding window: a window of 1 makes each position see only itself; a window ≥ T changes nothing', async () => {
  const model = await loadModel(fixtureDir('mistral'));
  assert.equal(model.config.family === 'llama' && model.config.slidingWindow, null);
  const withWindow = (w: number) => new Model({ ...model.config, slidingWindow: w } as typeof model.config, model.params);
  const row = [5, 17, 42, 3, 88, 23];
  const full = (await evaluate(model, ids([row]))).logits;
  assert.equal(maxAbsDiff((await evaluate(withWindow(6), ids([row]))).logits, full), 0);
  const one = (await evaluate(withWindow(1), ids([row]))).logits;
  // With one key, attention returns that key's value whatever RoPE does: as a one-token sequence.
  const alone = (await evaluate(model, ids(row.map((t) => [t])))).logits; // [6, 1, V]
  assert.ok(maxAbsDiff(one, { ...alone, shape: [1, 6, 96] }) <= 1e-5);
  assert.ok(maxAbsDiff(one, full) > 1e-2);
});

test('two forward passes can share parameters, and two models can share a graph under prefixes', async () => {
  const model = await loadModel(fixtureDir('qwen2'));
  const other = await loadModel(fixtureDir('llama-tied'));
  const g = new Graph();
  const a = g.input('a', 'int64', ['B', 'T']);
  const b = g.input('b', 'int64', ['B', 'T']);
  const first = model.forward(g, a);
  const second = model.forward(g, b, { params: first.params });
  assert.equal(second.params.size, first.params.size);
  const third = other.forward(g, a, { prefix: 'ref.' });
  assert.ok([...third.params.values()].every((t) => t.name!.startsWith('ref.')));
  const program = compile([a, b, ...first.params.values(), ...third.params.values()], { la: first.logits, lb: second.logits, lr: third.logits });
  const x = ids([[1, 2, 3]]);
  const y = ids([[4, 5, 6]]);
  const r = await program.run({ a: x, b: y, ...model.feeds(), ...other.feeds('ref.') });
  assert.equal(maxAbsDiff(r.la, (await evaluate(model, x)).logits), 0);
  assert.equal(maxAbsDiff(r.lb, (await evaluate(model, y)).logits), 0);
  assert.equal(maxAbsDiff(r.lr, (await evaluate(other, x)).logits), 0);
  await program.dispose();
  assert.throws(() => model.forward(g, g.input('f', 'float32', ['B', 'T'])), ShapeError);
});

test('absurd sizes are a LetheError naming the value, not a RangeError', () => {
  assert.throws(() => presetConfig('tiny', { maxPositions: 1e9 }), (e: unknown) => e instanceof LetheError && /maxPositions must be an integer in \[2, 134217728\], got 1000000000/.test(e.message));
  assert.throws(() => createModel(presetConfig('gpt2-124m', { maxPositions: 2 ** 27 })), (e: unknown) => e instanceof LetheError && /transformer\.wpe\.weight \[134217728, 768\] would hold/.test(e.message));
});
