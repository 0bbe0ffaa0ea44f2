// LoRA on a model: starts equal to the base model, merges exactly into the weights, trains only
// A and B, and its gradient agrees with finite differences.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { grad } from '../../src/engine/autodiff.ts';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { LetheError } from '../../src/engine/errors.ts';
import { Graph } from '../../src/engine/graph.ts';
import { TrainStep } from '../../src/engine/train-step.ts';
import { compile } from '../../src/engine/program.ts';
import { Rng } from '../../src/engine/random.ts';
import { loraAName, loraBName } from '../../src/models/forward.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { headModule, mlpOutputModule } from '../../src/models/hf-layout.ts';
import { applyLora, mergeLora } from '../../src/models/lora.ts';
import type { Model } from '../../src/models/model.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { nextTokenLoss } from '../../src/nn/loss.ts';
import { evaluate, fixtureDir, golden, maxAbsDiff } from './golden.ts';

/** Fill every adapter's A and B with N(0, std²) values, as if trained. */
function randomiseAdapters(model: Model, seed: number, std = 0.1): void {
  const rng = new Rng(seed);
  for (const m of model.lora!.modules) {
    for (const name of [loraAName(m), loraBName(m)]) {
      const t = model.params.get(name)!;
      model.params.set(name, { ...t, data: rng.normalArray(t.data.length, std) });
    }
  }
}

const idsOf = async (name: string): Promise<HostTensor> => (await golden(name)).get('input_ids')!;

test('an adapted model with B = 0 gives the base model\'s logits exactly', async () => {
  const base = await loadModel(fixtureDir('qwen2'));
  const adapted = applyLora(base, { r: 4, alpha: 8, dropout: 0 });
  assert.equal(adapted.lora!.modules.length, 2 * 7);
  const ids = await idsOf('qwen2');
  assert.equal(maxAbsDiff((await evaluate(adapted, ids)).logits, (await evaluate(base, ids)).logits), 0);
});

test('after random A and B, the merged model equals the adapted model (1e-5), and saves merged', async () => {
  for (const name of ['llama-gqa', 'gpt2']) {
    const adapted = applyLora(await loadModel(fixtureDir(name)), { r: 4, alpha: 16, dropout: 0.1 });
    randomiseAdapters(adapted, 3);
    const ids = await idsOf(name);
    const want = (await evaluate(adapted, ids)).logits; // not training: no dropout
    const base = (await evaluate(await loadModel(fixtureDir(name)), ids)).logits;
    assert.ok(maxAbsDiff(want, base) > 0.05, 'the adapters should change the logits');
    const merged = mergeLora(adapted);
    assert.equal(merged.lora, null);
    assert.deepEqual([...merged.params.keys()], merged.baseNames());
    const d = maxAbsDiff((await evaluate(merged, ids)).logits, want);
    assert.ok(d <= 1e-5, `${name}: merged vs adapted max |Δ| = ${d}`);
    const root = mkdtempSync(join(tmpdir(), 'lethe-lora-'));
    try {
      await saveModel(adapted, join(root, 'm'));
      assert.ok(maxAbsDiff((await evaluate(await loadModel(join(root, 'm')), ids)).logits, want) <= 1e-5);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
});

test('targets select modules by name ending or RegExp; a pattern that matches nothing is an error', async () => {
  const llama = await loadModel(fixtureDir('llama-gqa'));
  assert.deepEqual(applyLora(llama, { targets: ['q_proj', 'v_proj'] }).lora!.modules, [
    'model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj',
  ]);
  assert.deepEqual(applyLora(llama, { targets: /layers\.1\.mlp\.down_proj$/ }).lora!.modules, ['model.layers.1.mlp.down_proj']);
  const gpt2 = await loadModel(fixtureDir('gpt2'));
  assert.deepEqual(applyLora(gpt2, { targets: ['attn.c_proj'] }).lora!.modules, ['transformer.h.0.attn.c_proj', 'transformer.h.1.attn.c_proj']);
  assert.throws(() => applyLora(llama, { targets: ['c_attn'] }), LetheError);
});

test('with LoRA only A and B are trainable: a train step changes them and no base weight', async () => {
  const base = await loadModel(fixtureDir('llama-tied'));
  const adapted = applyLora(base, { r: 2, alpha: 4, dropout: 0.05, targets: ['q_proj', 'down_proj'] });
  const names = adapted.trainableNames();
  assert.equal(names.length, 2 * 2 * 2);
  assert.ok(names.every((n) => /\.lora_[AB]\.weight$/.test(n)));
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['B', 'T']);
  const out = adapted.forward(g, ids, { training: true });
  const trainable = names.map((n) => out.params.get(n)!);
  const frozen = [...out.params].filter(([n]) => !names.includes(n)).map(([, t]) => t);
  const step = TrainStep.create(
    { loss: nextTokenLoss(out.logits, ids), params: trainable, data: [ids, out.dropoutSeed!, ...frozen], optimizer: { kind: 'sgd' } },
    adapted.params,
  );
  const feeds: Record<string, HostTensor> = { input_ids: await idsOf('llama-tied'), 'lora.dropout_seed': { dtype: 'int64', shape: [], data: BigInt64Array.of(1n) } };
  for (const [n, v] of adapted.params) if (!names.includes(n)) feeds[n] = v;
  await step.run(feeds, 0.5);
  // B starts at 0, so A's gradient (through B) is 0 on the first step and B's is not.
  for (const m of adapted.lora!.modules) {
    assert.equal(maxAbsDiff(step.get(loraAName(m)), adapted.params.get(loraAName(m))!), 0, m);
    assert.ok(maxAbsDiff(step.get(loraBName(m)), adapted.params.get(loraBName(m))!) > 0, m);
  }
  await step.dispose();
  assert.equal(maxAbsDiff(adapted.params.get('model.layers.0.self_attn.q_proj.weight')!, base.params.get('model.layers.0.self_attn.q_proj.weight')!), 0);
});

test('LoRA dropout: on only in training, fixed by the seed, and the gradient of A and B matches finite differences', async () => {
  const adapted = applyLora(await loadModel(fixtureDir('mistral')), { r: 3, alpha: 6, dropout: 0.3, targets: ['o_proj', 'up_proj'] });
  randomiseAdapters(adapted, 5);
  const ids = await idsOf('mistral');
  const g = new Graph();
  const input = g.input('input_ids', 'int64', ['B', 'T']);
  const train = adapted.forward(g, input, { training: true });
  const evalOut = adapted.forward(g, input, { params: train.params }); // the same parameter inputs, no dropout
  const lossTrain = nextTokenLoss(train.logits, input);
  const lossEval = nextTokenLoss(evalOut.logits, input);
  const a = loraAName('model.layers.1.self_attn.o_proj');
  const b = loraBName('model.layers.0.mlp.up_proj');
  const [gA, gB] = grad(lossEval, [train.params.get(a)!, train.params.get(b)!]);
  const program = compile([input, train.dropoutSeed!, ...train.params.values()], { lossTrain, lossEval, gA, gB });
  const run = (seed: bigint, params = adapted.params) =>
    program.run({ input_ids: ids, 'lora.dropout_seed': { dtype: 'int64', shape: [], data: BigInt64Array.of(seed) }, ...Object.fromEntries(params) });
  const r1 = await run(1n);
  const r1again = await run(1n);
  const r2 = await run(2n);
  assert.equal(r1.lossTrain.data[0], r1again.lossTrain.data[0]);
  assert.notEqual(r1.lossTrain.data[0], r2.lossTrain.data[0]);
  assert.notEqual(r1.lossTrain.data[0], r1.lossEval.data[0]);
  assert.equal(r1.lossEval.data[0], r2.lossEval.data[0]);

  // Central differences on the largest-gradient element of each, h = 1e-2 (float32 program).
  for (const [name, gr] of [[a, r1.gA], [b, r1.gB]] as const) {
    const gd = gr.data as Float32Array;
    let k = 0;
    for (let i = 1; i < gd.length; i++) if (Math.abs(gd[i]) > Math.abs(gd[k])) k = i;
    const h = 1e-2;
    const shifted = async (delta: number) => {
      const t = adapted.params.get(name)!;
      const data = Float32Array.from(t.data as Float32Array);
      data[k] += delta;
      const params = new Map(adapted.params).set(name, { ...t, data });
      return Number((await run(1n, params)).lossEval.data[0]);
    };
    const fd = ((await shifted(h)) - (await shifted(-h))) / (2 * h);
    assert.ok(Math.abs(fd - gd[k]) <= 1e-3 + 2e-2 * Math.abs(gd[k]), `${name}[${k}]: finite difference ${fd} vs gradient ${gd[k]}`);
    assert.ok(Math.abs(gd[k]) > 1e-3, 'the checked gradient should not be tiny');
  }
  await program.dispose();
});

test('applyLora refuses a model that already has adapters, bad ranks and bad dropout', async () => {
  const model = await loadModel(fixtureDir('llama-gqa'));
  assert.throws(() => applyLora(applyLora(model), {}), LetheError);
  assert.throws(() => applyLora(model, { r: 0 }), LetheError);
  assert.throws(() => applyLora(model, { dropout: 1 }), LetheError);
});

test('Phi-3: q_proj/v_proj and gate_proj targets select the fused qkv_proj and gate_up_proj; the merge lands in them and saves with HF names', async () => {
  const base = await loadModel(fixtureDir('phi3'));
  const adapted = applyLora(base, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj', 'gate_proj'] });
  assert.deepEqual(adapted.lora!.modules, [0, 1].flatMap((i) => [`model.layers.${i}.self_attn.qkv_proj`, `model.layers.${i}.mlp.gate_up_proj`]));
  randomiseAdapters(adapted, 5);
  const ids = await idsOf('phi3');
  const want = (await evaluate(adapted, ids)).logits;
  assert.ok(maxAbsDiff(want, (await evaluate(base, ids)).logits) > 0.05, 'the adapters should change the logits');
  const root = mkdtempSync(join(tmpdir(), 'lethe-lora-'));
  try {
    await saveModel(adapted, join(root, 'm'));
    const again = await loadModel(join(root, 'm'));
    assert.deepEqual([...again.params.keys()], base.baseNames());
    assert.ok(maxAbsDiff((await evaluate(again, ids)).logits, want) <= 1e-5);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('per family: default LoRA targets are the block projections (never the head), PEFT names select them, mlpOutputModule names a real weight', async () => {
  const cases: [string, string[], number][] = [
    ['gpt-neox', ['query_key_value'], 2], ['phi', ['q_proj', 'v_proj', 'dense'], 6], ['opt', ['q_proj', 'v_proj'], 4], ['gemma2', ['o_proj'], 2], ['olmo2', ['down_proj'], 2],
  ];
  for (const [name, targets, count] of cases) {
    const model = await loadModel(fixtureDir(name));
    const all = applyLora(model, { dropout: 0 }).lora!.modules;
    assert.ok(!all.includes(headModule(model.config)), `${name}: the head is not a default target`);
    assert.equal(applyLora(model, { targets, dropout: 0 }).lora!.modules.length, count, `${name}: ${targets.join(', ')}`);
    assert.ok(model.params.has(`${mlpOutputModule(model.config, 1)}.weight`), name);
  }
});
