// log p(label) over a large vocabulary, slice by slice (nn/head.ts): the same values and the
// same gradients as log-softmax over the whole logits, for tied and untied heads held in float32
// or bfloat16, with the vocabulary cut into ragged slices; and the program that computes it
// holds no [B, T, V] tensor (nothing of the vocabulary's full width is computed), nor a slice's
// gradient padded to the whole head.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grad } from '../../src/engine/autodiff.ts';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { Graph } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { compile } from '../../src/engine/program.ts';
import { f32ToBf16 } from '../../src/models/formats/half-float.ts';
import { applyLora } from '../../src/models/lora.ts';
import { createModel, Model } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { tokenLogprobs } from '../../src/nn/loss.ts';

const V = 300;
const base = presetConfig('tiny', { vocabSize: V, maxPositions: 16 });
const [B, T] = [2, 6];

function bf16(m: Model): Model {
  const params = new Map<string, HostTensor>();
  for (const [n, t] of m.params) params.set(n, t.shape.length === 2 && !n.includes('lora') ? { dtype: 'bfloat16', shape: t.shape, data: f32ToBf16(t.data as Float32Array) } : t);
  return new Model(m.config, params, m.lora, m.source);
}

async function run(model: Model, sliceRows: number | null) {
  const g = new Graph();
  const ids = g.input('ids', 'int64', [B, T]);
  const labels = g.input('labels', 'int64', [B, T]);
  const C = model.config.hiddenSize;
  const out = model.forward(g, ids, sliceRows === null ? {} : { headSliceBytes: 4 * C * sliceRows });
  const logp = sliceRows === null ? o.squeeze(o.gatherElements(o.logSoftmax(out.logits, -1), o.unsqueeze(labels, -1), 2), -1) : tokenLogprobs(out.logits, labels);
  const weights = o.reshape(o.range(g, B * T), [B, T]);
  const loss = o.sum(o.mul(logp, o.cast(weights, 'float32')));
  const names = model.trainableNames().filter((n) => model.params.get(n)!.dtype === 'float32');
  const grads = grad(loss, names.map((n) => out.params.get(n)!));
  const program = compile([ids, labels, ...out.params.values()], { logp, ...Object.fromEntries(grads.map((t, i) => [`g${i}`, t])) });
  // The widest [B, T, ·] tensor the program computes (nodes the outputs need).
  const needed = new Set<number>();
  const stack = [logp, ...grads];
  while (stack.length) {
    const t = stack.pop()!;
    if (needed.has(t.id)) continue;
    needed.add(t.id);
    stack.push(...t.inputs);
  }
  const widths = new Set(g.nodes.filter((t) => needed.has(t.id) && t.rank === 3 && t.shape[0] === B).map((t) => t.shape[2]));
  const data = (k: number) => BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 97 + k * 31) % V));
  const r = await program.run({ ids: { dtype: 'int64', shape: [B, T], data: data(0) }, labels: { dtype: 'int64', shape: [B, T], data: data(1) }, ...model.feeds() });
  await program.dispose();
  // Forward slice logits the backward pass reads (it should recompute them instead).
  const kept = g.nodes.filter((t) => t.id < loss.id && needed.has(t.id) && t.rank === 3 && [41, 13].includes(t.shape[2] as number));
  const readLater = new Set(g.nodes.filter((t) => t.id > loss.id).flatMap((t) => t.inputs.map((x) => x.id)));
  // Slice gradients padded to the head's full [V, C] or [C, V] (they should be concatenated).
  const fullPads = g.nodes.filter((t) => needed.has(t.id) && t.op === 'pad' && t.shape.includes(V)).length;
  return { r, n: grads.length, widths, keptSlices: kept.filter((t) => readLater.has(t.id)).length, slices: kept.length, fullPads };
}

for (const tied of [true, false]) {
  for (const held of ['float32', 'bfloat16'] as const) {
    test(`label log-probs slice by slice equal log-softmax's, values and gradients: ${tied ? 'tied' : 'untied'} head held in ${held}`, async () => {
      let model = createModel({ ...base, tieWordEmbeddings: tied }, { seed: 9, initStd: 0.3 });
      if (held === 'bfloat16') model = applyLora(bf16(model), { r: 2, seed: 2 });
      if (model.lora) for (const [n, t] of model.params) if (n.endsWith('lora_B.weight')) (t.data as Float32Array).forEach((_, i, a) => (a[i] = 0.02 * ((i % 5) - 2)));
      const whole = await run(model, null);
      const sliced = await run(model, 41); // 300 = 7 × 41 + 13: a ragged last slice
      assert.ok(!sliced.widths.has(V) && sliced.widths.has(41) && sliced.widths.has(13), `[B, T, ·] widths: ${[...sliced.widths].join(', ')}`);
      assert.ok(whole.widths.has(V));
      assert.ok(sliced.slices >= 8, `${sliced.slices} slice logits`);
      assert.equal(sliced.keptSlices, 0, 'slice logits kept for the backward pass');
      assert.equal(sliced.fullPads, 0, 'slice gradients padded to the whole head');
      assert.ok(whole.n > 0);
      for (const key of ['logp', ...Array.from({ length: whole.n }, (_, i) => `g${i}`)]) {
        const a = sliced.r[key].data as Float32Array;
        const b = whole.r[key].data as Float32Array;
        const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        let worst = 0;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        assert.ok(scale > 0 && worst <= 2e-5 * scale, `${key}: largest difference ${worst} (largest value ${scale})`);
      }
    });
  }
}
