// A Hugging Face model folder as the model code wants it: config.json parsed, the weights read
// (single file or shards), renamed to the canonical HF names and checked against the config.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE } from './checkpoint.ts';
import { readConfig } from './config.ts';
import type { HostTensor } from './host-tensor.ts';
import type { ModelConfig } from './model-config.ts';
import { checkTensorShapes, normaliseTensorName, normaliseTensorNames } from './tensor-shapes.ts';

export interface ModelWeights {
  config: ModelConfig;
  /** Exactly the names and shapes of `expectedTensorShapes(config)`. */
  tensors: Map<string, HostTensor>;
}

export interface ReadModelDirOptions {
  /**
   * Which 2-D tensors (by canonical HF name) to hold transposed, decoded and transposed as they
   * are read (their HostTensor says `transposed: true`); the shape check sees the stored shape.
   */
  transpose?: (config: ModelConfig, name: string) => boolean;
  /** Keep F16/BF16 weights at their precision (see readSafetensors). Default false: float32. */
  keepHalf?: boolean;
}

/** Reads `dir/config.json` and the checkpoint beside it; throws a LetheError on any mismatch. */
export async function readModelDir(dir: string, options: ReadModelDirOptions = {}): Promise<ModelWeights> {
  const config = await readConfig(dir);
  const want = options.transpose;
  const transpose = want ? (name: string) => { const hf = normaliseTensorName(config, name); return hf !== null && want(config, hf); } : undefined;
  const raw = await readCheckpoint(dir, { transpose, keepHalf: options.keepHalf });
  const index = join(dir, SAFETENSORS_INDEX_FILE);
  const file = existsSync(index) ? index : join(dir, SAFETENSORS_FILE); // named in shape errors
  const stored = new Map([...raw].map(([name, t]) => [name, { shape: t.transposed ? [...t.shape].reverse() : t.shape }]));
  checkTensorShapes(config, stored, file);
  return { config, tensors: normaliseTensorNames(config, raw, file) };
}
