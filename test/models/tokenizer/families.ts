// Small tokenizers of every family lethe reads, built in the test from two committed sources:
// the Llama 2-style SentencePiece-BPE fixture (test/fixtures/tokenizers/llama2-style, from the
// issue 12 case) and the byte-level BPE trained on TOFU (trained.ts). Each family keeps the
// vocabulary and merges and changes what makes it that family: normaliser, pre-tokenizer,
// post-processor, added tokens and chat template, as the published tokenizer.json files have
// them (Llama 2 legacy, Llama 2 / Mistral with Metaspace, GPT-2, Llama 3, Qwen2).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLlama2cTokenizer, type Llama2cTokenizer as Llama2cVocab } from '../../../src/models/formats/llama2c.ts';
import { Llama2cTokenizer } from '../../../src/models/tokenizer/llama2c-tokenizer.ts';
import { loadTokenizer } from '../../../src/models/tokenizer/load-tokenizer.ts';
import { tokenizerFromJson, type Tokenizer } from '../../../src/models/tokenizer/tokenizer.ts';
import { tofuTokenizer } from './trained.ts';

export const LLAMA2_STYLE_DIR = fileURLToPath(new URL('../../fixtures/tokenizers/llama2-style/', import.meta.url));

export interface Family {
  name: string;
  tokenizer: Tokenizer;
  /** tokenizer.json as given to the tokenizer (the Rust reference reads the same); none for llama2.c's tokenizer.bin. */
  json?: Record<string, unknown>;
  /** For llama2.c's tokenizer.bin: the run.c port (runCEncode) on its vocabulary, the reference in place of Rust's. */
  runC?: Llama2cVocab;
  /** Whether it has a chat template. */
  chat: boolean;
}

type Json = Record<string, unknown>;
const clone = <T>(value: T): T => structuredClone(value);
const readJson = (path: string): Json => JSON.parse(readFileSync(path, 'utf8')) as Json;

const special = (id: number, content: string) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
});

export const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
export const QWEN2_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const LLAMA3_CHAT =
  "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The Llama 2-style case exactly as shipped: Prepend + Replace normaliser (legacy), BOS by the post-processor. */
export function llama2Legacy(): Family {
  return { name: 'SentencePiece-BPE, legacy (Llama 2)', tokenizer: loadTokenizer(LLAMA2_STYLE_DIR), json: readJson(join(LLAMA2_STYLE_DIR, 'tokenizer.json')), chat: true };
}

/** The same pieces with a Metaspace pre-tokenizer (transformers' legacy=false: prepend_scheme "first"; older files: "always"). */
export function llama2Metaspace(prependScheme: 'first' | 'always'): Family {
  const json = readJson(join(LLAMA2_STYLE_DIR, 'tokenizer.json'));
  const config = readJson(join(LLAMA2_STYLE_DIR, 'tokenizer_config.json'));
  json.normalizer = null;
  json.pre_tokenizer = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: prependScheme, split: prependScheme === 'always' };
  json.decoder = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: prependScheme, split: prependScheme === 'always' };
  const tokenizer = tokenizerFromJson(clone(json), { ...config, legacy: false }, `metaspace-${prependScheme}`);
  return { name: `SentencePiece-BPE, Metaspace prepend_scheme ${prependScheme}`, tokenizer, json, chat: true };
}

function byteLevelBase(): { json: Json; config: Json } {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-families-'));
  try {
    tofuTokenizer().save(dir);
    return { json: readJson(join(dir, 'tokenizer.json')), config: readJson(join(dir, 'tokenizer_config.json')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GPT-2: ByteLevel pre-tokenizer with its own regex, no BOS, <|endoftext|> for everything. */
export function gpt2(): Family {
  const { json, config } = byteLevelBase();
  return { name: 'byte-level BPE (GPT-2)', tokenizer: tokenizerFromJson(clone(json), config, 'gpt2-style'), json, chat: false };
}

/** The byte-level vocabulary, with ids from `first` on for `names` as special added tokens. */
function withAdded(json: Json, names: string[]): { json: Json; ids: Record<string, number> } {
  const vocab = (json.model as { vocab: Record<string, number> }).vocab;
  let next = Math.max(...Object.values(vocab)) + 1;
  const ids: Record<string, number> = {};
  const added = [...(json.added_tokens as unknown[])];
  for (const name of names) {
    ids[name] = next;
    added.push(special(next++, name));
  }
  return { json: { ...json, added_tokens: added }, ids };
}

/** Llama 3: Split on its regex then ByteLevel without regex, ignore_merges, BOS <|begin_of_text|> by TemplateProcessing. */
export function llama3(): Family {
  const base = byteLevelBase();
  const names = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'];
  const { json, ids } = withAdded(base.json, names);
  json.normalizer = null;
  json.pre_tokenizer = {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: LLAMA3_PATTERN }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
  json.post_processor = {
    type: 'Sequence',
    processors: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [ids['<|begin_of_text|>']], tokens: ['<|begin_of_text|>'] } },
      },
    ],
  };
  json.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  (json.model as Json).ignore_merges = true;
  const config = { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>', chat_template: LLAMA3_CHAT, clean_up_tokenization_spaces: false };
  return { name: 'byte-level BPE (Llama 3)', tokenizer: tokenizerFromJson(clone(json), config, 'llama3-style'), json, chat: true };
}

/** Qwen2: NFC normaliser, Split on its regex then ByteLevel, no BOS, ChatML. */
export function qwen2(): Family {
  const base = byteLevelBase();
  const { json } = withAdded(base.json, ['<|im_start|>', '<|im_end|>']);
  json.normalizer = { type: 'NFC' };
  json.pre_tokenizer = {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: QWEN2_PATTERN }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    ],
  };
  json.post_processor = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  json.decoder = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const config = { eos_token: '<|im_end|>', pad_token: '<|endoftext|>', chat_template: CHATML, clean_up_tokenization_spaces: false };
  return { name: 'byte-level BPE (Qwen2)', tokenizer: tokenizerFromJson(clone(json), config, 'qwen2-style'), json, chat: true };
}

/**
 * A llama2.c tokenizer.bin as Karpathy's export writes it (int32 max_token_length; per token f32
 * score, i32 length, bytes; "▁" as a space, BOS/EOS as "\n<s>\n"/"\n</s>\n"), made from the
 * Llama 2-style fixture: a piece made by merge r scores −r, any other piece −10⁶ − id.
 */
export function llama2cTokenizerBin(): Uint8Array {
  const json = readJson(join(LLAMA2_STYLE_DIR, 'tokenizer.json'));
  const model = json.model as { vocab: Record<string, number>; merges: [string, string][] };
  const names: string[] = [];
  for (const [name, id] of Object.entries(model.vocab)) names[id] = name;
  const rank = new Map<string, number>();
  model.merges.forEach(([a, b], r) => {
    if (!rank.has(a + b)) rank.set(a + b, r);
  });
  const encoder = new TextEncoder();
  const pieces = names.map((name, id) => encoder.encode(id === 1 ? '\n<s>\n' : id === 2 ? '\n</s>\n' : name.replaceAll('\u2581', ' ')));
  const size = 4 + pieces.reduce((n, p) => n + 8 + p.length, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, Math.max(...pieces.map((p) => p.length)), true);
  let at = 4;
  pieces.forEach((piece, id) => {
    view.setFloat32(at, rank.has(names[id]) ? -rank.get(names[id])! : -1e6 - id, true);
    view.setInt32(at + 4, piece.length, true);
    bytes.set(piece, at + 8);
    at += 8 + piece.length;
  });
  return bytes;
}

/** llama2.c's tokenizer.bin (llama2cTokenizerBin, 256 byte pieces) run by Llama2cTokenizer. */
export function llama2c(): Family {
  const bin = parseLlama2cTokenizer(llama2cTokenizerBin(), 433, 'tokenizer.bin');
  return { name: "llama2.c's tokenizer.bin", tokenizer: new Llama2cTokenizer(bin, 'tokenizer.bin'), runC: bin, chat: false };
}

export const LLAMA2C_NO_BYTES_FILE = fileURLToPath(new URL('../../fixtures/models/llama2c-shared/tokenizer.bin', import.meta.url));

/** The model fixtures' llama2.c tokenizer.bin (96 pieces, no byte pieces), run by Llama2cTokenizer. */
export function llama2cNoBytes(): Family {
  const bin = parseLlama2cTokenizer(readFileSync(LLAMA2C_NO_BYTES_FILE), 96, LLAMA2C_NO_BYTES_FILE);
  return { name: "llama2.c's tokenizer.bin without byte pieces", tokenizer: new Llama2cTokenizer(bin, LLAMA2C_NO_BYTES_FILE), runC: bin, chat: false };
}

/**
 * run.c's encode(), ported line by line as the independent reference: BOS, the dummy prefix " ",
 * each UTF-8 character looked up (else its bytes + 3; where byte + 3 is outside the vocabulary,
 * run.c reads past its table, lethe's class gives <unk>, and so does this), then merge the
 * adjacent pair whose concatenation is the best-scoring piece, leftmost first on ties, until none
 * is a piece. `spans`: the characters (code points, [start, end)) each token came from, the
 * dummy prefix [0, 0], BOS [0, 0].
 */
export function runCEncode(t: Llama2cVocab, text: string, bos: boolean): { ids: number[]; spans: [number, number][] } {
  const key = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
  const lookup = new Map<string, number>();
  t.bytes.forEach((piece, id) => {
    if (!lookup.has(key(piece))) lookup.set(key(piece), id);
  });
  const tokens: number[] = [];
  const spans: [number, number][] = [];
  if (bos) {
    tokens.push(1);
    spans.push([0, 0]);
  }
  const chars = [...text];
  if (chars.length > 0) {
    tokens.push(lookup.get(' ')!);
    spans.push([0, 0]);
  }
  chars.forEach((c, k) => {
    const char = new TextEncoder().encode(c);
    const id = lookup.get(key(char));
    if (id !== undefined) tokens.push(id);
    else if ([...char].every((b) => b + 3 < t.bytes.length)) for (const b of char) tokens.push(b + 3);
    else tokens.push(0);
    while (spans.length < tokens.length) spans.push([k, k + 1]);
  });
  for (;;) {
    let best = -1e10;
    let bestId = -1;
    let bestAt = -1;
    for (let i = 0; i + 1 < tokens.length; i++) {
      const id = lookup.get(key(t.bytes[tokens[i]]) + key(t.bytes[tokens[i + 1]]));
      if (id !== undefined && t.scores[id] > best) {
        best = t.scores[id];
        bestId = id;
        bestAt = i;
      }
    }
    if (bestAt < 0) break;
    tokens.splice(bestAt, 2, bestId);
    spans.splice(bestAt, 2, [spans[bestAt][0], spans[bestAt + 1][1]]);
  }
  return { ids: tokens, spans };
}
