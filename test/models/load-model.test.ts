// loadModel: HF folders and llama2.c files, with errors that name the file and the problem.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../src/engine/errors.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { fixtureDir } from './golden.ts';

function withCopy(name: string, body: (dir: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'lethe-load-'));
  const dir = join(root, name);
  cpSync(fixtureDir(name), dir, { recursive: true });
  return body(dir).finally(() => rmSync(root, { recursive: true, force: true }));
}

test('Llama linear weights are held [in, out] (transposed from HF), GPT-2 Conv1D weights as stored', async () => {
  const llama = await loadModel(fixtureDir('llama-gqa'));
  assert.deepEqual(llama.params.get('model.layers.0.self_attn.k_proj.weight')!.shape, [32, 16]); // HF [16, 32]
  assert.deepEqual(llama.params.get('lm_head.weight')!.shape, [32, 96]); // HF [96, 32]
  assert.deepEqual(llama.params.get('model.embed_tokens.weight')!.shape, [96, 32]);
  const gpt2 = await loadModel(fixtureDir('gpt2'));
  assert.deepEqual(gpt2.params.get('transformer.h.0.attn.c_attn.weight')!.shape, [32, 96]);
  assert.equal(gpt2.params.has('lm_head.weight'), false);
  assert.equal(gpt2.source?.dir, fixtureDir('gpt2'));
});

test('a llama2.c folder (model.bin, no config.json) loads like its .bin file', async () => {
  const fromDir = await loadModel(fixtureDir('llama2c-unshared'));
  const fromFile = await loadModel(join(fixtureDir('llama2c-unshared'), 'model.bin'));
  assert.deepEqual(fromDir.config, fromFile.config);
  assert.equal(fromDir.config.numKvHeads, 2);
});

test('a config that disagrees with the weights names the safetensors file and the tensor', async () => {
  await withCopy('qwen2', async (dir) => {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, intermediate_size: 64 }));
    await assert.rejects(loadModel(dir), (err: Error) => err instanceof LetheError && err.message.includes('model.safetensors') && err.message.includes('gate_proj'));
  });
});

test('missing paths and files that are not models are LetheErrors naming the path', async () => {
  await assert.rejects(loadModel(join(fixtureDir('gpt2'), 'nope')), (err: Error) => err instanceof LetheError && err.message.includes('nope'));
  await assert.rejects(loadModel(join(fixtureDir('gpt2'), 'config.json')), (err: Error) => err instanceof LetheError && err.message.includes('config.json'));
  await withCopy('llama-tied', async (dir) => {
    rmSync(join(dir, 'model.safetensors'));
    await assert.rejects(loadModel(dir), (err: Error) => err instanceof LetheError && err.message.includes('model.safetensors'));
  });
});
