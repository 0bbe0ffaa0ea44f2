// Load a model from a Hugging Face folder (config.json + model.safetensors or shards, F32, F16,
// BF16 or F64 weights) or from a llama2.c version-0 `.bin` file. Every tensor's name and shape is
// checked against the config first, with errors naming the file (formats/model-dir.ts).

import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LetheError } from '../engine/errors.ts';
import { firstNonFinite } from '../io/finite.ts';
import { CONFIG_FILE } from './formats/config.ts';
import { readLlama2c } from './formats/llama2c.ts';
import { readModelDir } from './formats/model-dir.ts';
import { fromHfTensors } from './hf-layout.ts';
import { Model } from './model.ts';

const LLAMA2C_FILE = 'model.bin';

export interface LoadModelOptions {
  /**
   * Scan every weight for NaN/±Inf (default true; the environment variable
   * LETHE_SKIP_FINITE_CHECK=1 turns it off, for very large models).
   */
  checkFinite?: boolean;
}

/**
 * Throws LetheError (exit 2) naming the first tensor (by its name in `file`) that holds a NaN or
 * ±Inf: such a model would be trained, saved and reported as if it were sound.
 */
export function checkFiniteWeights(tensors: Iterable<[string, { data: ArrayBufferView | ArrayLike<number> }]>, file: string): void {
  for (const [name, t] of tensors) {
    const i = firstNonFinite(t.data);
    if (i >= 0) throw new LetheError(`${file}: tensor "${name}" holds ${(t.data as ArrayLike<number>)[i]} (flat index ${i}); a model with non-finite weights cannot be used (LETHE_SKIP_FINITE_CHECK=1 skips this check)`);
  }
}

const wantFiniteCheck = (o: LoadModelOptions) => o.checkFinite ?? !/^(1|true|yes)$/i.test(process.env.LETHE_SKIP_FINITE_CHECK ?? '');

/**
 * `path` is a model folder (HF, or holding a llama2.c `model.bin` and no config.json) or a
 * llama2.c `.bin` file. Weights are checked to be finite unless `options.checkFinite` is false.
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<Model> {
  if (!existsSync(path)) throw new LetheError(`${path}: no such model file or folder`);
  if (statSync(path).isFile()) {
    if (path.endsWith('.bin')) return loadLlama2c(path, options);
    throw new LetheError(`${path}: expected a model folder (config.json + model.safetensors) or a llama2.c .bin file`);
  }
  const configPath = join(path, CONFIG_FILE);
  if (!existsSync(configPath) && existsSync(join(path, LLAMA2C_FILE))) return loadLlama2c(join(path, LLAMA2C_FILE), options);
  const { config, tensors } = await readModelDir(path);
  if (wantFiniteCheck(options)) checkFiniteWeights(tensors, path);
  const hfConfig = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  return new Model(config, fromHfTensors(config, tensors, join(path, 'model.safetensors')), null, { dir: path, hfConfig });
}

async function loadLlama2c(file: string, options: LoadModelOptions): Promise<Model> {
  const { config, tensors } = await readLlama2c(file);
  if (wantFiniteCheck(options)) checkFiniteWeights(tensors, file);
  return new Model(config, fromHfTensors(config, tensors, file), null, { dir: dirname(file), hfConfig: null });
}
