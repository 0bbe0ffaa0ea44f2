// saveModel writes a Hugging Face folder: the same bytes PyTorch wrote for the fixtures, loadable
// back to identical parameters and logits, with the tokenizer files copied, through a temporary
// folder and a rename, never into the folder the model came from.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../src/engine/errors.ts';
import { readConfig } from '../../src/models/formats/config.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { applyLora, mergeLora } from '../../src/models/lora.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { bf16ToF32, f32ToBf16 } from '../../src/models/formats/half-float.ts';
import { WRITE_COLLECT_BYTES } from '../../src/models/formats/safetensors.ts';
import { collectGarbage } from '../../src/engine/collect-garbage.ts';
import { evaluate, fixtureDir, golden } from './golden.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'lethe-save-'));
}

const bytes = (t: { data: ArrayBufferView }): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

for (const name of ['gpt2', 'llama-gqa', 'qwen2']) {
  test(`${name}: load(save(model)) has byte-identical tensors and identical logits; model.safetensors is the fixture's bytes`, async () => {
    const root = tempDir();
    try {
      const model = await loadModel(fixtureDir(name));
      const out = join(root, 'saved');
      await saveModel(model, out);
      assert.ok(readFileSync(join(out, 'model.safetensors')).equals(readFileSync(join(fixtureDir(name), 'model.safetensors'))));
      assert.deepEqual(await readConfig(out), await readConfig(fixtureDir(name)));
      const again = await loadModel(out);
      assert.deepEqual([...again.params.keys()], [...model.params.keys()]);
      for (const [k, v] of model.params) {
        assert.deepEqual(again.params.get(k)!.shape, v.shape, k);
        assert.ok(bytes(again.params.get(k)!).equals(bytes(v)), `${k} differs after the round trip`);
      }
      const ids = (await golden(name)).get('input_ids')!;
      assert.ok(bytes((await evaluate(again, ids)).logits).equals(bytes((await evaluate(model, ids)).logits)));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test('F16 and BF16 weights saved in their own precision give back the fixture files; sharded saves as one file', async () => {
  const root = tempDir();
  try {
    for (const [name, dtype] of [['llama-gqa-f16', 'F16'], ['llama-gqa-bf16', 'BF16']] as const) {
      const out = join(root, name);
      await saveModel(await loadModel(fixtureDir(name)), out, { dtype });
      assert.ok(readFileSync(join(out, 'model.safetensors')).equals(readFileSync(join(fixtureDir(name), 'model.safetensors'))), name);
      assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).torch_dtype, dtype === 'F16' ? 'float16' : 'bfloat16');
    }
    const out = join(root, 'unsharded');
    await saveModel(await loadModel(fixtureDir('llama-gqa-sharded')), out);
    assert.ok(readFileSync(join(out, 'model.safetensors')).equals(readFileSync(join(fixtureDir('llama-gqa'), 'model.safetensors'))));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('tokenizer files are copied; extra files are written; an existing target is replaced with no temporary left', async () => {
  const root = tempDir();
  try {
    const source = join(root, 'source');
    cpSync(fixtureDir('gpt2'), source, { recursive: true });
    writeFileSync(join(source, 'tokenizer.json'), '{"model": {"type": "BPE"}}');
    writeFileSync(join(source, 'tokenizer_config.json'), '{"eos_token": "</s>"}');
    const model = await loadModel(source);
    const out = join(root, 'out');
    await saveModel(model, out, { files: { 'notes.txt': 'hello' } });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(source, f))), f);
    assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'hello');
    writeFileSync(join(out, 'stale.bin'), 'old');
    await saveModel(model, out);
    assert.deepEqual(readdirSync(out).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    assert.deepEqual(readdirSync(root).sort(), ['out', 'source']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('saving into the folder the model was loaded from is refused and leaves it untouched', async () => {
  const root = tempDir();
  try {
    const source = join(root, 'source');
    cpSync(fixtureDir('llama-tied'), source, { recursive: true });
    const before = readdirSync(source).map((f) => [f, statSync(join(source, f)).mtimeMs, readFileSync(join(source, f)).length]);
    const model = await loadModel(source);
    await assert.rejects(saveModel(model, join(source, '.')), (err: Error) => err instanceof LetheError && /loaded from/.test(err.message));
    const after = readdirSync(source).map((f) => [f, statSync(join(source, f)).mtimeMs, readFileSync(join(source, f)).length]);
    assert.deepEqual(after, before);
    assert.deepEqual(readdirSync(root), ['source']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a save holds one weight\'s copies at a time: adapters merged, rounded and transposed as each weight is written', async () => {
  // 6 layers of 512 × 2048: 94 MiB of float32 weights, LoRA on every linear layer, saved as BF16.
  const config = { ...presetConfig('small', { vocabSize: 2048 }), hiddenSize: 512, numLayers: 6, numHeads: 8, numKvHeads: 2, headDim: 64, intermediateSize: 2048 };
  const model = applyLora(createModel(config, { seed: 3 }), { r: 4, seed: 1 });
  for (const [n, t] of model.params) if (n.endsWith('lora_B.weight')) (t.data as Float32Array).fill(0.01);
  let weights = 0;
  let largest = 0;
  for (const t of model.params.values()) {
    weights += t.data.byteLength;
    largest = Math.max(largest, t.data.byteLength);
  }
  // Garbage the writer collects once it reaches WRITE_COLLECT_BYTES, plus one weight's copies
  // (merged in float32, rounded, transposed, written), with room for one more: far below a
  // second copy of the model (89 MiB measured when every weight was converted first).
  const bound = WRITE_COLLECT_BYTES + 6 * largest;
  assert.ok(bound < 0.5 * weights);
  const root = tempDir();
  try {
    collectGarbage(); // earlier tests' garbage is not this save's
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)), 1);
    try {
      await saveModel(model, join(root, 'saved'), { dtype: 'BF16' });
    } finally {
      clearInterval(sampler);
    }
    assert.ok(peak < bound, `array buffers rose by ${(peak / 2 ** 20).toFixed(1)} MiB while saving ${(weights / 2 ** 20).toFixed(1)} MiB of weights`);
    // What was written is the merged model, rounded to BF16 (checked against mergeLora's own).
    const back = await loadModel(join(root, 'saved'));
    const merged = mergeLora(model);
    const name = 'model.layers.1.mlp.down_proj.weight';
    const expected = bf16ToF32(f32ToBf16(merged.params.get(name)!.data as Float32Array));
    assert.deepEqual(back.params.get(name)!.data, expected);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
