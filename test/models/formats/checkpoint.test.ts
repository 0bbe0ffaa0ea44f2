import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpoint } from '../../../src/models/formats/checkpoint.ts';
import type { HostTensor } from '../../../src/models/formats/host-tensor.ts';
import { readSafetensors, writeSafetensors } from '../../../src/models/formats/safetensors.ts';
import { assertRejectsLethe, bytesOf } from './safetensors-bytes.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/models/', import.meta.url));
const t = (...values: number[]): HostTensor => ({ dtype: 'float32', shape: [values.length], data: new Float32Array(values) });

/** A folder with shards {file: {tensor: values}} and an index written from `weightMap`. */
async function shardedDir(shards: Record<string, Record<string, HostTensor>>, weightMap: unknown): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-shards-'));
  for (const [file, tensors] of Object.entries(shards)) await writeSafetensors(join(dir, file), tensors);
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  return dir;
}

test('the sharded fixture reads as the same tensors as the single-file one', async () => {
  const sharded = await readCheckpoint(join(fixtures, 'llama-gqa-sharded'));
  const single = await readCheckpoint(join(fixtures, 'llama-gqa'));
  assert.deepEqual([...sharded.keys()].sort(), [...single.keys()].sort());
  for (const [name, tensor] of single) {
    assert.deepEqual(sharded.get(name)!.shape, tensor.shape);
    assert.deepEqual(bytesOf(sharded.get(name)!), bytesOf(tensor), name);
  }
  assert.equal((await readSafetensors(join(fixtures, 'llama-gqa', 'model.safetensors'))).size, single.size);
});

test('shards listed in the index are merged', async () => {
  const dir = await shardedDir({ 'a.safetensors': { x: t(1), y: t(2, 3) }, 'b.safetensors': { z: t(4) } }, { x: 'a.safetensors', y: 'a.safetensors', z: 'b.safetensors' });
  try {
    const tensors = await readCheckpoint(dir);
    assert.deepEqual([...tensors.keys()].sort(), ['x', 'y', 'z']);
    assert.deepEqual([...tensors.get('y')!.data], [2, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sharded checkpoint errors: missing shard, tensor absent from its shard, tensor in two shards, bad index', async () => {
  const cases: [Record<string, Record<string, HostTensor>>, unknown, RegExp][] = [
    [{ 'a.safetensors': { x: t(1) } }, { x: 'a.safetensors', y: 'b.safetensors' }, /shard b.safetensors is listed but missing/],
    [{ 'a.safetensors': { x: t(1) } }, { x: 'a.safetensors', y: 'a.safetensors' }, /tensor 'y' is listed in a.safetensors but absent from it/],
    [{ 'a.safetensors': { x: t(1) }, 'b.safetensors': { y: t(2) } }, { x: 'b.safetensors', y: 'b.safetensors' }, /tensor 'x' is listed in b.safetensors but absent from it$/],
    [{ 'a.safetensors': { x: t(1) }, 'b.safetensors': { x: t(1), y: t(2) } }, { x: 'a.safetensors', y: 'b.safetensors' }, /tensor 'x' is in two shards, a.safetensors and b.safetensors/],
    [{ 'a.safetensors': { x: t(1) } }, { x: '../a.safetensors' }, /weight_map.x: expected a file name in the same folder/],
    [{ 'a.safetensors': { x: t(1) } }, ['a.safetensors'], /weight_map: expected an object/],
    [{ 'a.safetensors': { x: t(1) } }, {}, /weight_map lists no tensors/],
  ];
  for (const [shards, weightMap, pattern] of cases) {
    const dir = await shardedDir(shards, weightMap);
    try {
      await assertRejectsLethe(readCheckpoint(dir), dir, pattern);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('a folder without weights, or with an unreadable index, is a LetheError naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-empty-'));
  try {
    await assertRejectsLethe(readCheckpoint(dir), dir, /no model.safetensors or model.safetensors.index.json/);
    writeFileSync(join(dir, 'pytorch_model.bin'), 'pickle');
    await assertRejectsLethe(readCheckpoint(dir), dir, /pytorch_model.bin is a pickle/);
    writeFileSync(join(dir, 'model.safetensors.index.json'), '{"weight_map": ');
    await assertRejectsLethe(readCheckpoint(dir), 'model.safetensors.index.json', /not a readable JSON file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
