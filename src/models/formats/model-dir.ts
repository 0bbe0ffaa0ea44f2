// A Hugging Face model folder as the model code wants it: config.json parsed, the weights read
// (single file or shards), renamed to the canonical HF names and checked against the config.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE } from './checkpoint.ts';
import { readConfig } from './config.ts';
import type { HostTensor } from './host-tensor.ts';
import type { ModelConfig } from './model-config.ts';
import { checkTensorShapes, normaliseTensorNames } from './tensor-shapes.ts';

export interface ModelWeights {
  config: ModelConfig;
  /** Exactly the names and shapes of `expectedTensorShapes(config)`. */
  tensors: Map<string, HostTensor>;
}

/** Reads `dir/config.json` and the checkpoint beside it; throws a LetheError on any mismatch. */
export async function readModelDir(dir: string): Promise<ModelWeights> {
  const config = await readConfig(dir);
  const raw = await readCheckpoint(dir);
  const index = join(dir, SAFETENSORS_INDEX_FILE);
  const file = existsSync(index) ? index : join(dir, SAFETENSORS_FILE); // named in shape errors
  checkTensorShapes(config, raw, file);
  return { config, tensors: normaliseTensorNames(config, raw, file) };
}
