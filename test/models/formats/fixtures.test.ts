// The PyTorch-made model fixtures (scripts/make-model-fixtures.py) through the format layer:
// every config parses, every checkpoint matches its config, the llama2.c files convert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConfig, writeConfig } from '../../../src/models/formats/config.ts';
import { readLlama2c, readLlama2cTokenizer } from '../../../src/models/formats/llama2c.ts';
import { readModelDir } from '../../../src/models/formats/model-dir.ts';
import { readSafetensors, writeSafetensors } from '../../../src/models/formats/safetensors.ts';
import { checkTensorShapes } from '../../../src/models/formats/tensor-shapes.ts';
import { bytesOf } from './safetensors-bytes.ts';

const root = fileURLToPath(new URL('../../fixtures/models/', import.meta.url));
const cases = readdirSync(root).filter((name) => existsSync(join(root, name, 'config.json'))).sort();
const llama2cCases = readdirSync(root).filter((name) => existsSync(join(root, name, 'model.bin'))).sort();

test('the fixture folders are there', () => {
  for (const name of ['gpt2', 'llama-gqa', 'llama-gqa-f16', 'llama-gqa-bf16', 'llama-gqa-sharded', 'llama-tied', 'qwen2', 'mistral']) {
    assert.ok(cases.includes(name), name);
  }
  assert.deepEqual(llama2cCases, ['llama2c-shared', 'llama2c-unshared']);
});

test('every config.json parses and every checkpoint holds exactly the tensors it implies', async () => {
  for (const name of cases) {
    const { config, tensors } = await readModelDir(join(root, name));
    assert.ok(tensors.size > 0, name);
    // The goldens hold d loss / d p for every parameter PyTorch's module has: the same names
    // and shapes, from an independent source.
    const golden = await readSafetensors(join(root, name, 'golden.safetensors'));
    const grads = new Map([...golden].filter(([n]) => n.startsWith('grad.')).map(([n, t]) => [n.slice(5), t]));
    checkTensorShapes(config, grads, `${name}/golden.safetensors`);
  }
});

test('fixture configs mean what the fixture README says', async () => {
  const c = Object.fromEntries(await Promise.all(cases.map(async (n) => [n, await readConfig(join(root, n))] as const)));
  assert.deepEqual([c.gpt2.family, c.gpt2.hiddenSize, c.gpt2.activation, c.gpt2.tieWordEmbeddings, c.gpt2.maxPositions], ['gpt2', 32, 'gelu_tanh', true, 32]);
  assert.deepEqual([c['llama-gqa'].numKvHeads, c['llama-gqa'].normEps, c['llama-gqa'].tieWordEmbeddings], [2, 1e-6, false]);
  assert.deepEqual([c['llama-tied'].hiddenSize, c['llama-tied'].tieWordEmbeddings], [48, true]);
  assert.deepEqual([c.qwen2.modelType, c.qwen2.qkvBias, c.qwen2.outBias, c.qwen2.intermediateSize], ['qwen2', true, false, 80]);
  const mistral = c.mistral;
  assert.ok(mistral.family === 'llama');
  assert.deepEqual([mistral.numKvHeads, mistral.ropeTheta, mistral.slidingWindow], [1, 1e6, null]);
});

test('F16, BF16 and sharded variants hold the llama-gqa weights (rounded, or exactly)', async () => {
  const base = (await readModelDir(join(root, 'llama-gqa'))).tensors;
  const sharded = (await readModelDir(join(root, 'llama-gqa-sharded'))).tensors;
  for (const [name, t] of base) assert.deepEqual(bytesOf(sharded.get(name)!), bytesOf(t), name);
  for (const [variant, tolerance] of [['llama-gqa-f16', 2 ** -11], ['llama-gqa-bf16', 2 ** -8]] as const) {
    const rounded = (await readModelDir(join(root, variant))).tensors;
    for (const [name, t] of base) {
      const a = t.data as Float32Array;
      const b = rounded.get(name)!.data as Float32Array;
      // half an ulp, relative; plus half F16's subnormal spacing (2^-24) for the tiniest weights
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tolerance * Math.abs(a[i]) + 2 ** -25, `${variant} ${name}[${i}]`);
    }
  }
});

test('the llama2.c fixtures convert to HF Llama, save as an HF folder and load back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-llama2c-hf-'));
  try {
    for (const name of llama2cCases) {
      const { config, tensors } = await readLlama2c(join(root, name, 'model.bin'));
      const shared = name === 'llama2c-shared';
      assert.deepEqual(
        [config.hiddenSize, config.intermediateSize, config.numLayers, config.numHeads, config.numKvHeads, config.vocabSize, config.maxPositions],
        [48, 80, 2, 4, shared ? 4 : 2, 96, 32],
      );
      assert.equal(config.tieWordEmbeddings, shared);
      checkTensorShapes(config, tensors, name);
      const tok = await readLlama2cTokenizer(join(root, name, 'tokenizer.bin'), config.vocabSize);
      assert.deepEqual(tok.pieces.slice(0, 5), ['<unk>', '\n<s>\n', '\n</s>\n', ' ', 'a']);
      assert.equal(tok.scores[3], -100);

      await writeConfig(dir, config);
      await writeSafetensors(join(dir, 'model.safetensors'), tensors, { metadata: { format: 'pt' } });
      const back = await readModelDir(dir);
      assert.deepEqual(back.config, config);
      for (const [n, t] of tensors) assert.deepEqual(bytesOf(back.tensors.get(n)!), bytesOf(t), n);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
