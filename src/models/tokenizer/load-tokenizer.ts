// Reads a Hugging Face tokenizer directory: tokenizer.json (required), tokenizer_config.json
// (special tokens, chat template), and the older special_tokens_map.json / newer
// chat_template.jinja when present, with the same precedence as transformers.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../../engine/errors.ts';
import { tokenizerFromJson, type Tokenizer } from './tokenizer.ts';

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

/** Loads the tokenizer stored in `dir` (a model directory or a tokenizer-only directory). */
export function loadTokenizer(dir: string): Tokenizer {
  const tokenizerPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) throw new LetheError(`${dir}: no tokenizer.json in this directory`);
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
