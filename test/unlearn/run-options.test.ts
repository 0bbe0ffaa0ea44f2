// Run options beyond the plain objective, on a tiny random model: LoRA (with dropout shared by
// the forget and retain passes), pattern and saliency scopes, SAM, adversarial unlearning,
// Sophia and gradient accumulation all build, train and change only what they should.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTofuSplit } from '../../src/data/tofu.ts';
import { LetheError } from '../../src/engine/errors.ts';
import { plainTemplate } from '../../src/data/templates.ts';
import { mergeLora } from '../../src/models/lora.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import type { UnlearnMethod } from '../../src/unlearn/method.ts';
import { unlearn, type UnlearnOptions } from '../../src/unlearn/run.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';

const tokenizer = tofuTokenizer();
const template = plainTemplate();
const rows = loadTofuSplit('forget01').slice(0, 6);
const forget = rows.map((i) => template.pair(i.question, i.answer));
const retain = loadTofuSplit('retain90').slice(0, 6).map((i) => template.pair(i.question, i.answer));
const model = createModel(presetConfig('tiny', { vocabSize: tokenizer.vocabSize, maxPositions: 256 }), { seed: 2 });
const dir = mkdtempSync(join(tmpdir(), 'lethe-run-'));
let k = 0;
const run = (o: Partial<UnlearnOptions>) =>
  unlearn(model, tokenizer, { method: 'graddiff', forget, retain, template, lr: 1e-3, optimizer: { kind: 'adamw' }, batchSize: 3, epochs: 1, runDir: join(dir, String(k++)), ...o });

const changed = (a: Float32Array, b: Float32Array) => a.some((v, i) => v !== b[i]);

test('LoRA with dropout trains adapters shared by all passes, returns them beside the base, merges them, leaves the input model untouched', async () => {
  const before = Float32Array.from(model.params.get('model.layers.0.self_attn.q_proj.weight')!.data as Float32Array);
  const r = await run({ scope: { kind: 'lora', r: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj'] } });
  assert.equal(r.loop.stopped, 'done');
  assert.ok(r.model.lora?.modules.includes('model.layers.0.self_attn.v_proj'), 'the adapters come back beside the base');
  assert.equal(r.model.params.get('model.layers.0.self_attn.q_proj.weight'), model.params.get('model.layers.0.self_attn.q_proj.weight'), 'the base is the input\'s, shared');
  const merged = mergeLora(r.model);
  assert.equal(merged.lora, null);
  assert.ok(changed(merged.params.get('model.layers.0.self_attn.q_proj.weight')!.data as Float32Array, before), 'merged update');
  assert.ok(!changed(merged.params.get('model.layers.0.mlp.up_proj.weight')!.data as Float32Array, model.params.get('model.layers.0.mlp.up_proj.weight')!.data as Float32Array));
  assert.deepEqual(model.params.get('model.layers.0.self_attn.q_proj.weight')!.data, before);
});

test('a pattern scope changes only the matching parameters', async () => {
  const r = await run({ scope: { kind: 'pattern', pattern: 'mlp\\.down_proj' } });
  for (const [name, v] of r.model.params) {
    assert.equal(changed(v.data as Float32Array, model.params.get(name)!.data as Float32Array), /mlp\.down_proj/.test(name), name);
  }
  assert.match(String((await run({ scope: { kind: 'pattern', pattern: 'nothing-matches' } }).catch((e) => e)).message), /matches no parameter/);
});

test('a saliency mask changes about the kept fraction of weights and no others', async () => {
  const r = await run({ scope: { kind: 'saliency', score: 'wagle', keep: 0.05 } });
  let total = 0;
  let moved = 0;
  for (const [name, v] of r.model.params) {
    const a = v.data as Float32Array;
    const b = model.params.get(name)!.data as Float32Array;
    total += a.length;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) moved++;
  }
  assert.ok(moved > 0 && moved <= 0.05 * total + 1, `${moved} of ${total} weights moved`);
});

test('SAM, adversarial unlearning, Sophia and accumulation each run to the end and move the weights', async () => {
  for (const o of [
    { sam: { rho: 0.05 } },
    { adversarial: { layer: 0, eps: 0.5, steps: 2 } },
    { lr: 1e-3, optimizer: { kind: 'sophia' as const } },
    { accumulation: 2, epochs: 2 },
  ]) {
    const r = await run(o);
    assert.equal(r.loop.stopped, 'done', JSON.stringify(o));
    const name = 'model.layers.1.mlp.down_proj.weight';
    assert.ok(changed(r.model.params.get(name)!.data as Float32Array, model.params.get(name)!.data as Float32Array), JSON.stringify(o));
  }
  await assert.rejects(run({ adversarial: { layer: 9, eps: 1, steps: 1 } }), /layer must be 0\.\.1/);
});

test('unknown methods and options are named in the error', async () => {
  await assert.rejects(run({ method: 'nope' }), /unknown method "nope" \(known: ga, graddiff/);
  await assert.rejects(run({ method: 'npo', methodOptions: { betta: 1 } }), /method option betta: method npo has no such option/);
  await assert.rejects(run({ forget: [] }), /forget set is empty/);
});

test('the inner attack finds a perturbation within ε that brings the forget answers back (lower NLL)', async () => {
  const { Graph } = await import('../../src/engine/graph.ts');
  const { compile } = await import('../../src/engine/program.ts');
  const o = await import('../../src/engine/ops.ts');
  const { adversarialDelta } = await import('../../src/unlearn/adversarial.ts');
  const { batchCe } = await import('../../src/unlearn/objective.ts');
  const { makeBatches } = await import('../../src/data/batches.ts');
  const g = new Graph();
  const ids = g.input('ids', 'int64', ['B', 'T']);
  const labels = g.input('labels', 'int64', ['B', 'T']);
  const mask = g.input('mask', 'float32', ['B', 'T']);
  const clean = model.forward(g, ids);
  const eps = 2;
  const delta = adversarialDelta((d) => model.forward(g, ids, { params: clean.params, perturb: { layer: 0, delta: d } }).logits, clean.hidden[0], labels, mask, { layer: 0, eps, steps: 3 });
  const attacked = model.forward(g, ids, { params: clean.params, perturb: { layer: 0, delta } });
  const nll = (logits: typeof ids) => batchCe({ logits, labels, mask });
  const maxNorm = o.reduceMax(o.sqrt(o.sum(o.square(delta), -1)));
  const p = compile([ids, labels, mask, ...clean.params.values()], { clean: nll(clean.logits), attacked: nll(attacked.logits), maxNorm });
  const [b] = makeBatches(tokenizer, forget, { batchSize: 6, contextLength: 256 });
  const shape = [b.batchSize, b.seqLength];
  const r = await p.run({ ...model.feeds(), ids: { dtype: 'int64', shape, data: b.inputIds }, labels: { dtype: 'int64', shape, data: b.labels }, mask: { dtype: 'float32', shape, data: b.targetMask } });
  const [c, a, n] = [r.clean, r.attacked, r.maxNorm].map((t) => Number(t.data[0]));
  assert.ok(a < c - 1e-3, `attacked NLL ${a} < clean ${c}`);
  assert.ok(n <= eps * (1 + 1e-4), `‖δ‖ per token ${n} ≤ ε`);
  await p.dispose();
});

test('a method defined outside the registry runs as a record, registers by name once, and its options are checked by its schema', async () => {
  const { z } = await import('zod');
  const o = await import('../../src/engine/ops.ts');
  const { batchCe } = await import('../../src/unlearn/objective.ts');
  const { commonOptionFields } = await import('../../src/unlearn/method.ts');
  const { registerMethod, getMethod } = await import('../../src/unlearn/methods/index.ts');
  const bounded: UnlearnMethod<{ ceiling: number }> = {
    name: 'bounded-ascent-test',
    summary: 'gradient ascent until the forget NLL reaches a ceiling',
    defaults: { ceiling: 50, gamma: 1, alpha: 1, retain: 'nll' },
    schema: z.strictObject({ ...commonOptionFields, ceiling: z.number().positive() }),
    lr: 1e-3,
    needs: [],
    forgetLoss: ({ forget }, { ceiling }) => o.maximum(o.sub(ceiling, batchCe(forget)), 0),
  };
  const r = await run({ method: bounded });
  assert.equal(r.resolved.method, 'bounded-ascent-test');
  assert.ok(changed(r.model.params.get('model.layers.1.mlp.down_proj.weight')!.data as Float32Array, model.params.get('model.layers.1.mlp.down_proj.weight')!.data as Float32Array));
  await assert.rejects(run({ method: bounded, methodOptions: { ceiling: -1 } }), /method option ceiling: .*got -1/);
  registerMethod(bounded);
  assert.equal(getMethod('Bounded-Ascent-Test'), bounded);
  assert.throws(() => registerMethod(bounded), /already registered/);
});

test('a LoRA result (adapters beside the base) is unlearned again as its merged weights, LoRA or not', async () => {
  const first = await run({ scope: { kind: 'lora', r: 2, alpha: 4, dropout: 0, targets: ['q_proj'] } });
  assert.ok(first.model.lora);
  const again = await unlearn(first.model, tokenizer, { method: 'graddiff', forget, retain, template, lr: 1e-3, optimizer: { kind: 'adamw' }, batchSize: 3, epochs: 1, runDir: join(dir, String(k++)), scope: { kind: 'lora', r: 2, alpha: 4, dropout: 0, targets: ['v_proj'] } });
  assert.equal(again.loop.stopped, 'done');
  // Its base is the first run's merged q_proj; its own adapters sit on v_proj.
  const q = 'model.layers.0.self_attn.q_proj.weight';
  assert.deepEqual(again.model.params.get(q)!.data, mergeLora(first.model).params.get(q)!.data);
  assert.deepEqual(again.model.lora?.modules.every((m) => m.endsWith('v_proj')), true);
  const full = await unlearn(first.model, tokenizer, { method: 'graddiff', forget, retain, template, lr: 1e-3, optimizer: { kind: 'adamw' }, batchSize: 3, epochs: 1, runDir: join(dir, String(k++)), scope: { kind: 'all' } });
  assert.equal(full.model.lora, null);
  assert.ok(!full.model.params.has('model.layers.0.self_attn.q_proj.lora_A.weight'));
});

test('a scope the library does not know is refused, not read as every parameter', async () => {
  await assert.rejects(run({ scope: { kind: 'wat' } as never }), (e: Error) => e instanceof LetheError && /scope \{"kind":"wat"\}: .*kinds: all, pattern, lora, saliency/.test(e.message));
  await assert.rejects(run({ scope: { kind: 'lora', r: 0 } as never }), (e: Error) => e instanceof LetheError && /r: /.test(e.message));
});
