// A Hugging Face model folder's weights: `model.safetensors`, or the shards that
// `model.safetensors.index.json` lists (`{"weight_map": {tensor name: shard file}}`, as
// `save_pretrained` writes when a model is too large for one file).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LetheError } from '../../engine/errors.ts';
import type { HostTensor } from './host-tensor.ts';
import { readSafetensors, type ReadSafetensorsOptions } from './safetensors.ts';

export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/** Every tensor of the checkpoint in `dir`, single-file or sharded (`options`: see readSafetensors). */
export async function readCheckpoint(dir: string, options: ReadSafetensorsOptions = {}): Promise<Map<string, HostTensor>> {
  const indexPath = join(dir, SAFETENSORS_INDEX_FILE);
  if (existsSync(indexPath)) return readSharded(dir, indexPath, options);
  const single = join(dir, SAFETENSORS_FILE);
  if (existsSync(single)) return readSafetensors(single, options);
  const pickle = existsSync(join(dir, 'pytorch_model.bin')) ? ' (pytorch_model.bin is a pickle: convert it to safetensors first)' : '';
  throw new LetheError(`${dir}: no ${SAFETENSORS_FILE} or ${SAFETENSORS_INDEX_FILE}${pickle}`);
}

/** The index's weight map, checked: an object of tensor name → shard file name in `dir`. */
export async function readShardIndex(indexPath: string): Promise<Map<string, string>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (err) {
    throw new LetheError(`${indexPath}: not a readable JSON file (${(err as Error).message})`);
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new LetheError(`${indexPath}: weight_map: expected an object of tensor name -> shard file`);
  }
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    // A shard is a file beside the index, never a path that could leave the folder.
    if (typeof shard !== 'string' || shard === '' || basename(shard) !== shard || shard === '..' || shard === '.') {
      throw new LetheError(`${indexPath}: weight_map.${name}: expected a file name in the same folder, found ${JSON.stringify(shard)}`);
    }
    map.set(name, shard);
  }
  if (map.size === 0) throw new LetheError(`${indexPath}: weight_map lists no tensors`);
  return map;
}

async function readSharded(dir: string, indexPath: string, options: ReadSafetensorsOptions): Promise<Map<string, HostTensor>> {
  const weightMap = await readShardIndex(indexPath);
  const shards = [...new Set(weightMap.values())];
  for (const shard of shards) {
    if (!existsSync(join(dir, shard))) throw new LetheError(`${indexPath}: shard ${shard} is listed but missing from ${dir}`);
  }
  const tensors = new Map<string, HostTensor>();
  const foundIn = new Map<string, string>();
  for (const shard of shards) {
    for (const [name, tensor] of await readSafetensors(join(dir, shard), options)) {
      const other = foundIn.get(name);
      if (other !== undefined) throw new LetheError(`${dir}: tensor '${name}' is in two shards, ${other} and ${shard}`);
      foundIn.set(name, shard);
      tensors.set(name, tensor);
    }
  }
  for (const [name, shard] of weightMap) {
    if (foundIn.get(name) !== shard) {
      const actually = foundIn.has(name) ? ` (it is in ${foundIn.get(name)})` : '';
      throw new LetheError(`${indexPath}: tensor '${name}' is listed in ${shard} but absent from it${actually}`);
    }
  }
  return tensors;
}
