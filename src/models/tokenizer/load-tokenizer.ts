// Reads a Hugging Face tokenizer directory: tokenizer.json (required), tokenizer_config.json
// (special tokens, chat template), and the older special_tokens_map.json / newer
// chat_template.jinja when present, with the same precedence as transformers. A llama2.c folder
// (or .bin file) without tokenizer.json uses llama2.c's tokenizer.bin beside it, run by
// Llama2cTokenizer (run.c's own rules; the same class loadModelAndTokenizer gives).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LetheError } from '../../engine/errors.ts';
import { parseLlama2cTokenizer } from '../formats/llama2c.ts';
import { Llama2cTokenizer, LLAMA2C_TOKENIZER_FILE } from './llama2c-tokenizer.ts';
import { tokenizerFromJson, type Tokenizer } from './tokenizer.ts';

export { LLAMA2C_TOKENIZER_FILE } from './llama2c-tokenizer.ts';

/** How many tokens a llama2.c tokenizer.bin holds (the file does not say; each record gives its length). */
function countLlama2cTokens(bytes: Uint8Array, file: string): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 4;
  let count = 0;
  while (at + 8 <= bytes.byteLength) {
    const length = view.getInt32(at + 4, true);
    if (length < 0) throw new LetheError(`${file}: token ${count} has length ${length}`);
    at += 8 + length;
    count++;
  }
  if (count === 0) throw new LetheError(`${file}: no tokens (too short for a llama2.c tokenizer)`);
  return count;
}

/** llama2.c's tokenizer.bin at `file`, all its tokens, as a Llama2cTokenizer. LetheError naming the file when unreadable or malformed. */
export function loadLlama2cTokenizer(file: string): Llama2cTokenizer {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new LetheError(`${file}: cannot read it: ${(err as Error).message}`);
  }
  return new Llama2cTokenizer(parseLlama2cTokenizer(bytes, countLlama2cTokens(bytes, file), file), file);
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LetheError(`${path}: cannot read it: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new LetheError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Loads the tokenizer stored in `dir` (a model directory or a tokenizer-only directory; or a
 * llama2.c .bin model file, whose folder is used). Without tokenizer.json, llama2.c's
 * tokenizer.bin is used when present.
 */
export function loadTokenizer(dir: string): Tokenizer {
  if (dir.endsWith('.bin') && existsSync(dir) && statSync(dir).isFile()) dir = dirname(dir);
  const tokenizerPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) {
    if (existsSync(join(dir, LLAMA2C_TOKENIZER_FILE))) return loadLlama2cTokenizer(join(dir, LLAMA2C_TOKENIZER_FILE));
    throw new LetheError(`${dir}: no tokenizer.json (or llama2.c tokenizer.bin) in this directory`);
  }
  const tokenizerJson = readJson(tokenizerPath);

  const configPath = join(dir, 'tokenizer_config.json');
  const mapPath = join(dir, 'special_tokens_map.json');
  const templatePath = join(dir, 'chat_template.jinja');
  // special_tokens_map.json fills what tokenizer_config.json leaves out; the config wins.
  const specialTokensMap = existsSync(mapPath) ? readJson(mapPath) : {};
  const config = existsSync(configPath) ? readJson(configPath) : {};
  if (specialTokensMap === null || typeof specialTokensMap !== 'object' || Array.isArray(specialTokensMap)) {
    throw new LetheError(`${mapPath}: expected a JSON object`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new LetheError(`${configPath}: expected a JSON object`);
  }
  const merged: Record<string, unknown> = { ...specialTokensMap, ...config };
  // A separate chat_template.jinja takes precedence over the config's field (transformers ≥ 4.43).
  if (existsSync(templatePath)) merged.chat_template = readFileSync(templatePath, 'utf8');
  return tokenizerFromJson(tokenizerJson, merged, tokenizerPath, configPath);
}
