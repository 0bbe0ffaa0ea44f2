// Save a model as a Hugging Face folder that other tools load: config.json, model.safetensors
// (HF names and layout; LoRA adapters merged in first), and the tokenizer files of the folder it
// came from. Everything is written into a temporary folder beside the target, which is then
// renamed into place (an existing target is swapped out and removed only after the rename), so
// a killed run leaves the old folder or the new one, never half of one. The source folder of a
// loaded model is never written.

import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LetheError } from '../engine/errors.ts';
import { writeConfig } from './formats/config.ts';
import { writeSafetensors, type LazyTensor } from './formats/safetensors.ts';
import { writeFileAtomic } from './formats/write-file-atomic.ts';
import { makeTempDir, tempPathFor } from '../io/atomic-write.ts';
import { toHfTensors } from './hf-layout.ts';
import { mergedWeight } from './lora.ts';
import type { Model } from './model.ts';
import type { HostTensor } from '../engine/dtype.ts';
import { f32ToBf16, f32ToF16 } from './formats/half-float.ts';

/** Files a model folder may carry beside its weights, copied as they are when present. */
export const TOKENIZER_FILES = [
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json',
  'tokenizer.model', 'vocab.json', 'merges.txt', 'added_tokens.json', 'chat_template.jinja', 'tokenizer.bin',
];

// Keys of the source config.json that would be false after a save (lethe writes plain float weights).
const DROPPED_CONFIG_KEYS = ['quantization_config', '_name_or_path', 'torch_dtype', 'transformers_version'];

export interface SaveModelOptions {
  /**
   * How to store the weights. Default: as the input checkpoint stored most of them (a BF16 model
   * saves BF16, LoRA merged in float32 then rounded to nearest even), else F32.
   */
  dtype?: 'F32' | 'F16' | 'BF16';
  /** Further files to write into the folder, name → contents (e.g. a trained tokenizer.json). */
  files?: Record<string, string | Uint8Array>;
}

/** A stored dtype's name: config.json's torch_dtype, which is also lethe's host dtype of it. */
const TORCH_DTYPE = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

/** A float32 weight rounded to F16 or BF16 (to nearest even, as writeSafetensors would). */
function narrowTo(t: HostTensor, dtype: 'F16' | 'BF16'): HostTensor {
  const values = t.data as Float32Array;
  return { dtype: TORCH_DTYPE[dtype], shape: t.shape, data: dtype === 'BF16' ? f32ToBf16(values) : f32ToF16(values) };
}

export async function saveModel(model: Model, dir: string, options: SaveModelOptions = {}): Promise<void> {
  const target = resolve(dir);
  if (model.source && resolve(model.source.dir) === target) {
    throw new LetheError(`${dir}: is the folder the model was loaded from; lethe never writes its input (choose another folder)`);
  }
  const dtype = options.dtype ?? model.source?.storedDtype ?? 'F32';
  // Adapters merged weight by weight as the file is written, each rounded to the saved dtype at
  // once (the same bits as merging all, then rounding), and each linear weight transposed to the
  // HF layout as it is written: a save holds one weight's copies at a time, not a second model.
  const narrow = dtype === 'F32' ? undefined : (t: HostTensor) => narrowTo(t, dtype);
  const weights = new Map<string, HostTensor | LazyTensor>();
  for (const name of model.baseNames()) {
    const t = model.params.get(name);
    if (t) weights.set(name, t);
  }
  for (const m of model.lora?.modules ?? []) {
    const base = model.params.get(`${m}.weight`)!;
    weights.set(`${m}.weight`, { dtype: TORCH_DTYPE[dtype], shape: base.shape, make: () => mergedWeight(model, m, narrow) });
  }
  await mkdir(dirname(target), { recursive: true });
  // Exclusive, unpredictable temporary folder (src/io), filled, then renamed into place.
  const temp = await makeTempDir(target);
  try {
    const extra = { ...(model.source?.hfConfig ?? {}) };
    for (const key of DROPPED_CONFIG_KEYS) delete extra[key];
    await writeConfig(temp, model.config, { torchDtype: TORCH_DTYPE[dtype], extra });
    const tensors = toHfTensors(model.config, weights, model.baseNames());
    await writeSafetensors(join(temp, 'model.safetensors'), tensors, { metadata: { format: 'pt' }, dtype });
    if (model.source?.llama2cTokenizer && !(options.files && 'tokenizer.bin' in options.files)) {
      await copyFile(model.source.llama2cTokenizer, join(temp, 'tokenizer.bin'));
    }
    if (model.source) {
      for (const name of TOKENIZER_FILES) {
        // The tokenizer's files from where it was loaded (--tokenizer DIR), generation_config.json from the model.
        const from = join(model.source.tokenizerDir && name !== 'generation_config.json' ? model.source.tokenizerDir : model.source.dir, name);
        const given = (options.files && name in options.files) || (name === 'tokenizer.bin' && model.source.llama2cTokenizer);
        if (existsSync(from) && !given) await copyFile(from, join(temp, name));
      }
    }
    for (const [name, contents] of Object.entries(options.files ?? {})) {
      if (basename(name) !== name) throw new LetheError(`saveModel: extra file "${name}" must be a plain file name`);
      await writeFileAtomic(join(temp, name), typeof contents === 'string' ? contents : [contents]);
    }
    await swapInto(temp, target);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    if (err instanceof LetheError) throw err;
    throw new LetheError(`${dir}: could not save the model: ${(err as Error).message}`);
  }
}

/** Rename `temp` to `target`; an existing target is moved aside first and removed after. */
async function swapInto(temp: string, target: string): Promise<void> {
  if (!existsSync(target)) {
    await rename(temp, target);
    return;
  }
  const old = tempPathFor(target);
  await rename(target, old);
  try {
    await rename(temp, target);
  } catch (err) {
    await rename(old, target);
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}
