// Load a model from a Hugging Face folder (config.json + model.safetensors or shards, F32, F16,
// BF16 or F64 weights) or from a llama2.c version-0 `.bin` file, as llama2.c ships them (e.g.
// `stories260K.bin` with `tok512.bin` beside it). Every tensor's name and shape is checked
// against the config first, with errors naming the file (formats/model-dir.ts).
//
// `loadModelAndTokenizer` is what a command calls: the model and its tokenizer from one path
// (an HF folder: tokenizer.json; a llama2.c file or folder: its tokenizer.bin, found beside it
// or named by the `tokenizer` option) or Hub name (org/name[@revision], through the Hub cache).

import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LetheError } from '../engine/errors.ts';
import { firstNonFinite, firstNonFiniteHalf } from '../io/finite.ts';
import { CONFIG_FILE } from './formats/config.ts';
import { readLlama2c, readLlama2cTokenizer } from './formats/llama2c.ts';
import { readModelDir } from './formats/model-dir.ts';
import { fromHfTensors, isHfLinearWeight } from './hf-layout.ts';
import { resolveModelRef, type HubOptions } from './hub.ts';
import { Llama2cTokenizer, LLAMA2C_TOKENIZER_FILE } from './tokenizer/llama2c-tokenizer.ts';
import { Model } from './model.ts';
import { loadTokenizer } from './tokenizer/load-tokenizer.ts';
import type { Tokenizer } from './tokenizer/tokenizer.ts';

const LLAMA2C_FILE = 'model.bin';

/** How a model is read: from where (the Hub options) and whether its weights are scanned. */
export interface ModelReadOptions extends HubOptions {
  /**
   * Scan every weight for NaN/±Inf (default true; the environment variable
   * LETHE_SKIP_FINITE_CHECK=1 turns it off, for very large models).
   */
  checkFinite?: boolean;
  /**
   * 'float32' (default): every weight widened to float32. 'checkpoint': F16/BF16 weights kept at
   * their precision (half the memory; programs cast them to float32 inside the graph, exactly),
   * for models that are only read (scoring, generation, a frozen reference, a LoRA base). A
   * model to be trained in full needs 'float32'.
   */
  precision?: 'float32' | 'checkpoint';
}

/**
 * Throws LetheError (exit 2) naming the first tensor (by its name in `file`) that holds a NaN or
 * ±Inf: such a model would be trained, saved and reported as if it were sound.
 */
export function checkFiniteWeights(tensors: Iterable<[string, { dtype?: string; data: ArrayBufferView | ArrayLike<number> }]>, file: string): void {
  for (const [name, t] of tensors) {
    if (t.dtype === 'bfloat16' || t.dtype === 'float16') {
      const bits = t.data as Uint16Array;
      const i = firstNonFiniteHalf(bits, t.dtype === 'bfloat16' ? 0x7f80 : 0x7c00);
      const what = i < 0 ? '' : (bits[i] & (t.dtype === 'bfloat16' ? 0x7f : 0x3ff)) !== 0 ? 'NaN' : bits[i] & 0x8000 ? '-Infinity' : 'Infinity';
      if (i >= 0) throw new LetheError(`${file}: tensor "${name}" holds ${what} (flat index ${i}); a model with non-finite weights cannot be used (LETHE_SKIP_FINITE_CHECK=1 skips this check)`);
      continue;
    }
    const i = firstNonFinite(t.data);
    if (i >= 0) throw new LetheError(`${file}: tensor "${name}" holds ${(t.data as ArrayLike<number>)[i]} (flat index ${i}); a model with non-finite weights cannot be used (LETHE_SKIP_FINITE_CHECK=1 skips this check)`);
  }
}

const wantFiniteCheck = (o: ModelReadOptions) => o.checkFinite ?? !/^(1|true|yes)$/i.test(process.env.LETHE_SKIP_FINITE_CHECK ?? '');

/**
 * `spec` is a model folder (HF; or holding a llama2.c checkpoint and no config.json: `model.bin`,
 * or the one `.bin` file whose llama2.c header matches its size), a llama2.c `.bin` file, or a
 * Hugging Face Hub name `org/name[@revision]` (from the Hub cache, or downloaded into it: hub.ts).
 */
export async function loadModel(spec: string, options: ModelReadOptions = {}): Promise<Model> {
  const path = await resolveModelRef(spec, options);
  const found = resolveModelPath(path);
  if (found.kind === 'llama2c') return loadLlama2c(found.file, options);
  // Linear weights are decoded and transposed into their final arrays as they are read.
  const { config, tensors } = await readModelDir(path, { transpose: isHfLinearWeight, keepHalf: options.precision === 'checkpoint' });
  if (wantFiniteCheck(options)) checkFiniteWeights(tensors, path);
  const hfConfig = JSON.parse(await readFile(join(path, CONFIG_FILE), 'utf8')) as Record<string, unknown>;
  const generationEos = await readGenerationEos(path);
  const storedDtype = dominantStoredDtype(tensors.values());
  return new Model(config, fromHfTensors(config, tensors, join(path, 'model.safetensors')), null, { dir: path, hfConfig, ...(generationEos ? { generationEos } : {}), ...(storedDtype ? { storedDtype } : {}) });
}

/** The stored float dtype holding the most values (F64 counts as F32: lethe writes no F64). */
function dominantStoredDtype(tensors: Iterable<{ stored?: string; data: { length: number } }>): 'F32' | 'F16' | 'BF16' | undefined {
  const count = new Map<'F32' | 'F16' | 'BF16', number>();
  for (const t of tensors) {
    if (!t.stored) continue;
    const d = t.stored === 'F64' ? 'F32' : (t.stored as 'F32' | 'F16' | 'BF16');
    count.set(d, (count.get(d) ?? 0) + t.data.length);
  }
  return [...count].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** generation_config.json's eos_token_id as a list (absent file or key: undefined). */
async function readGenerationEos(dir: string): Promise<number[] | undefined> {
  const file = join(dir, 'generation_config.json');
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new LetheError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const eos = (json as { eos_token_id?: unknown } | null)?.eos_token_id;
  if (eos === undefined || eos === null) return undefined;
  const ids = Array.isArray(eos) ? eos : [eos];
  if (!ids.every((id) => Number.isInteger(id) && id >= 0)) throw new LetheError(`${file}: eos_token_id: expected a token id or a list of token ids, found ${JSON.stringify(eos)}`);
  return ids as number[];
}

export interface LoadModelOptions extends ModelReadOptions {
  /**
   * The tokenizer: a llama2.c tokenizer file (tokenizer.bin, tok512.bin, ...) or a folder holding
   * tokenizer.json or one. Default: the one beside the model.
   */
  tokenizer?: string;
  /** Told each warning about the pair (a tokenizer smaller than the model's vocabulary). Default: none. */
  onWarning?: (line: string) => void;
}

/** A model and the tokenizer it was trained with. */
export interface LoadedModel {
  model: Model;
  tokenizer: Tokenizer;
}

/**
 * The model at `path` (see loadModel) and its tokenizer: for an HF folder its tokenizer.json
 * (and tokenizer_config.json); for a llama2.c checkpoint (the file or its folder) the
 * llama2.c tokenizer named by `options.tokenizer`, else beside it `tokenizer.bin`,
 * `tok<vocab size>.bin` or the only `tok*.bin`. LetheError naming what is missing otherwise, or
 * when the tokenizer's vocabulary does not fit the model's.
 */
export async function loadModelAndTokenizer(spec: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const path = await resolveModelRef(spec, options);
  const loaded = await loadModel(path, options);
  const tokenizer = options.tokenizer !== undefined ? await tokenizerAt(options.tokenizer, loaded) : await tokenizerBeside(path, loaded);
  if (tokenizer.vocabSize > loaded.config.vocabSize) {
    throw new LetheError(`${tokenizer.source}: the tokenizer has ${tokenizer.vocabSize} tokens, more than the ${loaded.config.vocabSize} of the model ${path} (vocab_size): ids past the model's embedding cannot be scored`);
  }
  // Legal (HF pads the embedding to a round size), but the model may then sample ids no token has.
  if (tokenizer.vocabSize < loaded.config.vocabSize) {
    options.onWarning?.(`${tokenizer.source}: the tokenizer has ${tokenizer.vocabSize} tokens, fewer than the ${loaded.config.vocabSize} of the model ${path} (vocab_size); generated ids past ${tokenizer.vocabSize - 1} decode to nothing`);
  }
  // saveModel copies a llama2.c tokenizer (whatever its name) into the saved folder as tokenizer.bin,
  // and the files of a tokenizer folder named apart from the model instead of the model folder's.
  const named = options.tokenizer !== undefined && !(tokenizer instanceof Llama2cTokenizer)
    ? { tokenizerDir: existsSync(options.tokenizer) && statSync(options.tokenizer).isFile() ? dirname(options.tokenizer) : options.tokenizer }
    : null;
  const model = tokenizer instanceof Llama2cTokenizer && loaded.source
    ? new Model(loaded.config, loaded.params, loaded.lora, { ...loaded.source, llama2cTokenizer: tokenizer.source })
    : named && loaded.source
      ? new Model(loaded.config, loaded.params, loaded.lora, { ...loaded.source, ...named })
      : loaded;
  return { model, tokenizer };
}

async function tokenizerBeside(path: string, model: Model): Promise<Tokenizer> {
  const found = resolveModelPath(path);
  if (found.kind === 'hf') {
    // A folder saved from a llama2.c model keeps its tokenizer as tokenizer.bin.
    if (!existsSync(join(path, 'tokenizer.json')) && existsSync(join(path, LLAMA2C_TOKENIZER_FILE))) return llama2cTokenizer(join(path, LLAMA2C_TOKENIZER_FILE), model);
    return loadTokenizer(path);
  }
  const dir = dirname(found.file);
  const file = llama2cTokenizerIn(dir, model.config.vocabSize);
  if (!file) {
    throw new LetheError(`${dir}: no llama2.c tokenizer beside ${basename(found.file)} (expected ${LLAMA2C_TOKENIZER_FILE} or tok${model.config.vocabSize}.bin; or name it with the tokenizer option)`);
  }
  return llama2cTokenizer(file, model);
}

async function tokenizerAt(path: string, model: Model): Promise<Tokenizer> {
  if (!existsSync(path)) throw new LetheError(`${path}: no such tokenizer file or folder`);
  if (statSync(path).isFile()) {
    if (path.endsWith('.json')) return loadTokenizer(dirname(path));
    return llama2cTokenizer(path, model);
  }
  if (existsSync(join(path, 'tokenizer.json'))) return loadTokenizer(path);
  const file = llama2cTokenizerIn(path, model.config.vocabSize);
  if (!file) throw new LetheError(`${path}: no tokenizer.json, ${LLAMA2C_TOKENIZER_FILE} or tok*.bin in this folder`);
  return llama2cTokenizer(file, model);
}

async function llama2cTokenizer(file: string, model: Model): Promise<Tokenizer> {
  return new Llama2cTokenizer(await readLlama2cTokenizer(file, model.config.vocabSize), file);
}

/** `dir`'s llama2.c tokenizer: tokenizer.bin, tok<vocab>.bin, or the only tok*.bin; else null. */
function llama2cTokenizerIn(dir: string, vocabSize: number): string | null {
  for (const name of [LLAMA2C_TOKENIZER_FILE, `tok${vocabSize}.bin`]) if (existsSync(join(dir, name))) return join(dir, name);
  const tok = readdirSync(dir).filter((n) => /^tok.*\.bin$/.test(n));
  return tok.length === 1 ? join(dir, tok[0]) : null;
}

/** Whether `file`'s size is what its llama2.c header implies (the file is a checkpoint, not a tokenizer). */
function isLlama2cCheckpoint(file: string): boolean {
  try {
    const size = statSync(file).size;
    if (size < 28) return false;
    const header = Buffer.alloc(28);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, header, 0, 28, 0);
    } finally {
      closeSync(fd);
    }
    const [dim, hidden, layers, heads, kvHeads, vocab, seq] = Array.from({ length: 7 }, (_, i) => header.readInt32LE(4 * i));
    if ([dim, hidden, layers, heads, kvHeads, seq].some((v) => v <= 0) || vocab === 0 || dim % heads !== 0) return false;
    const [d, h, L, v, s, hs] = [dim, hidden, layers, Math.abs(vocab), seq, dim / heads].map(BigInt);
    const kv = BigInt(kvHeads) * hs;
    let floats = v * d + L * d + L * d * d + 2n * L * kv * d + L * d * d + L * d + 3n * L * h * d + d + s * hs;
    if (vocab < 0) floats += v * d;
    return 28n + 4n * floats === BigInt(size);
  } catch {
    return false;
  }
}

type ModelPath = { kind: 'hf' } | { kind: 'llama2c'; file: string };

/** What `path` holds: an HF folder, or a llama2.c checkpoint (the file itself, or the one in a folder). */
export function resolveModelPath(path: string): ModelPath {
  if (!existsSync(path)) throw new LetheError(`${path}: no such model file or folder`);
  if (statSync(path).isFile()) {
    if (path.endsWith('.bin')) return { kind: 'llama2c', file: path };
    throw new LetheError(`${path}: expected a model folder (config.json + model.safetensors) or a llama2.c .bin file`);
  }
  if (existsSync(join(path, CONFIG_FILE))) return { kind: 'hf' };
  if (existsSync(join(path, LLAMA2C_FILE))) return { kind: 'llama2c', file: join(path, LLAMA2C_FILE) };
  const checkpoints = readdirSync(path).filter((n) => n.endsWith('.bin') && isLlama2cCheckpoint(join(path, n)));
  if (checkpoints.length === 1) return { kind: 'llama2c', file: join(path, checkpoints[0]) };
  if (checkpoints.length > 1) throw new LetheError(`${path}: several llama2.c checkpoints (${checkpoints.join(', ')}); name the file`);
  return { kind: 'hf' }; // readModelDir names what is missing
}

async function loadLlama2c(file: string, options: ModelReadOptions): Promise<Model> {
  const { config, tensors } = await readLlama2c(file);
  if (wantFiniteCheck(options)) checkFiniteWeights(tensors, file);
  return new Model(config, fromHfTensors(config, tensors, file), null, { dir: dirname(file), hfConfig: null });
}
