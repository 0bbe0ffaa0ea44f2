// Frozen weights kept at the checkpoint's precision (issue 15): a BF16 (or F16) checkpoint loaded
// with precision 'checkpoint' holds its weights as 16-bit patterns (half the bytes of float32),
// the programs cast them to float32 inside the graph (ONNX BitCast + Cast for bfloat16), and the
// logits and generations are exactly those of the same checkpoint widened to float32 on the host.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { grad } from '../../src/engine/autodiff.ts';
import { Graph } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { compile } from '../../src/engine/program.ts';
import { generate } from '../../src/models/generate.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { applyLora } from '../../src/models/lora.ts';
import { createModel, type Model } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { tofuTokenizer } from './tokenizer/trained.ts';

const root = mkdtempSync(join(tmpdir(), 'lethe-half-'));
after(() => rmSync(root, { recursive: true, force: true }));
const tokenizer = tofuTokenizer();
const config = { ...presetConfig('tiny', { vocabSize: tokenizer.vocabSize, maxPositions: 64 }), tieWordEmbeddings: false };

async function logits(model: Model, ids: number[][]): Promise<Float32Array> {
  const g = new Graph();
  const input = g.input('input_ids', 'int64', ['B', 'T']);
  const out = model.forward(g, input);
  const program = compile([input, ...out.params.values()], { logits: out.logits });
  const data = BigInt64Array.from(ids.flat().map(BigInt));
  const r = await program.run({ input_ids: { dtype: 'int64', shape: [ids.length, ids[0].length], data }, ...model.feeds() });
  await program.dispose();
  return r.logits.data as Float32Array;
}

const bytesOf = (m: Model) => [...m.params.values()].reduce((a, t) => a + t.data.byteLength, 0);

for (const [dtype, stored] of [['BF16', 'bfloat16'], ['F16', 'float16']] as const) {
  test(`a ${dtype} checkpoint kept at its precision holds half the bytes and scores exactly as its float32 widening`, async () => {
    const dir = join(root, dtype);
    await saveModel(createModel(config, { seed: 5, initStd: 0.1 }), dir, { dtype });
    const half = await loadModel(dir, { precision: 'checkpoint' });
    const wide = await loadModel(dir);
    for (const [name, t] of half.params) {
      assert.equal(t.dtype, stored, name);
      assert.ok(t.data instanceof Uint16Array, name);
      assert.deepEqual(t.shape, wide.params.get(name)!.shape, name); // linear weights [in, out] too
    }
    assert.equal(bytesOf(half) * 2, bytesOf(wide));
    const ids = [tokenizer.encode('The author was born in Kuwait City'), tokenizer.encode('What genre does he write in? ab')];
    const n = Math.min(ids[0].length, ids[1].length);
    const batch = ids.map((r) => r.slice(0, n));
    const [a, b] = [await logits(half, batch), await logits(wide, batch)];
    assert.equal(a.length, b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    assert.equal(worst, 0, `largest logit difference ${worst}`);
    const prompts = ['The author was born in', 'Hello'];
    assert.deepEqual(await generate(half, tokenizer, prompts, { maxNewTokens: 6 }), await generate(wide, tokenizer, prompts, { maxNewTokens: 6 }));
  });
}

test('a model saves in its input dtype unless asked: BF16 in → BF16 out (LoRA merged in float32, then rounded), --save-dtype F32 widens', async () => {
  const { readSafetensorsFile } = await import('../../src/models/formats/safetensors.ts');
  const { applyLora, mergeLora } = await import('../../src/models/lora.ts');
  const { f32ToBf16 } = await import('../../src/models/formats/half-float.ts');
  const { widenWeight } = await import('../../src/models/model.ts');
  const src = join(root, 'save-src');
  await saveModel(createModel(config, { seed: 7, initStd: 0.1 }), src, { dtype: 'BF16' });
  for (const precision of ['checkpoint', 'float32'] as const) {
    const model = await loadModel(src, { precision });
    assert.equal(model.source?.storedDtype, 'BF16');
    const lora = applyLora(model, { r: 2, alpha: 4, targets: ['q_proj'] });
    const b = lora.params.get('model.layers.0.self_attn.q_proj.lora_B.weight')!.data as Float32Array;
    b.fill(0.01);
    const out = join(root, `save-${precision}`);
    await saveModel(lora, out);
    const file = await readSafetensorsFile(join(out, 'model.safetensors'));
    assert.deepEqual(new Set(file.storedDtypes.values()), new Set(['BF16']));
    const input = await readSafetensorsFile(join(src, 'model.safetensors'));
    // Untouched weights keep their bits; the adapted one is the float32 merge rounded to BF16.
    assert.deepEqual(file.tensors.get('model.layers.1.mlp.up_proj.weight')!.data, input.tensors.get('model.layers.1.mlp.up_proj.weight')!.data);
    const merged = widenWeight(mergeLora(lora).params.get('model.layers.0.self_attn.q_proj.weight')!).data as Float32Array;
    const hf = new Float32Array(merged.length); // engine [in, out] → HF [out, in]
    const [inDim, outDim] = mergeLora(lora).params.get('model.layers.0.self_attn.q_proj.weight')!.shape;
    for (let i = 0; i < inDim; i++) for (let j = 0; j < outDim; j++) hf[j * inDim + i] = merged[i * outDim + j];
    const saved = new Float32Array(file.tensors.get('model.layers.0.self_attn.q_proj.weight')!.data as Float32Array);
    assert.deepEqual(f32ToBf16(saved), f32ToBf16(hf));
    assert.notDeepEqual(f32ToBf16(saved), f32ToBf16(input.tensors.get('model.layers.0.self_attn.q_proj.weight')!.data as Float32Array));
    await saveModel(lora, join(root, `save32-${precision}`), { dtype: 'F32' });
    assert.deepEqual(new Set((await readSafetensorsFile(join(root, `save32-${precision}`, 'model.safetensors'))).storedDtypes.values()), new Set(['F32']));
  }
});

for (const tied of [true, false]) {
  test(`a BF16 ${tied ? 'tied' : 'untied'} output head widened slice by slice gives the float32 logits and LoRA gradients`, async () => {
    const dir = join(root, `sliced-${tied}`);
    await saveModel(createModel({ ...config, tieWordEmbeddings: tied }, { seed: 6, initStd: 0.1 }), dir, { dtype: 'BF16' });
    const C = config.hiddenSize;
    const V = config.vocabSize;
    const rowsPerSlice = 37; // a ragged last slice
    const run = async (model: Model, headSliceBytes?: number) => {
      const g = new Graph();
      const input = g.input('input_ids', 'int64', [2, 5]);
      const out = model.forward(g, input, { headSliceBytes });
      const loss = o.sum(o.mul(o.logSoftmax(out.logits, -1), 0.01));
      const names = model.trainableNames();
      const grads = grad(loss, names.map((n) => out.params.get(n)!));
      const program = compile([input, ...out.params.values()], { logits: out.logits, ...Object.fromEntries(grads.map((t, i) => [`g${i}`, t])) });
      const data = BigInt64Array.from({ length: 10 }, (_, i) => BigInt((i * 37) % V));
      const r = await program.run({ input_ids: { dtype: 'int64', shape: [2, 5], data }, ...model.feeds() });
      await program.dispose();
      const slices = g.nodes.filter((t) => t.op === 'slice' && t.inputs[0].op === 'after').length;
      return { r, slices, n: grads.length };
    };
    const half = applyLora(await loadModel(dir, { precision: 'checkpoint' }), { r: 2, seed: 1 });
    const wide = applyLora(await loadModel(dir), { r: 2, seed: 1 });
    // LoRA B starts at zero, which would hide A's gradient: give B values.
    for (const m of [half, wide]) for (const [n, t] of m.params) if (n.endsWith('lora_B.weight')) (t.data as Float32Array).forEach((_, i, a) => (a[i] = 0.01 * ((i % 7) - 3)));
    const sliced = await run(half, 4 * C * rowsPerSlice);
    const whole = await run(wide);
    assert.ok(sliced.slices >= Math.ceil(V / rowsPerSlice), `the head was widened in ${sliced.slices} slices`);
    assert.equal(whole.slices, 0);
    for (const key of ['logits', ...Array.from({ length: sliced.n }, (_, i) => `g${i}`)]) {
      const a = sliced.r[key].data as Float32Array;
      const b = whole.r[key].data as Float32Array;
      // The head's input gradient is summed over the slices in another order: equal to rounding.
      const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
      assert.ok(scale > 0 && worst < 1e-5, `${key}: largest difference ${worst} of the largest value ${scale}`);
    }
  });
}
