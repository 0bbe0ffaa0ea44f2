// Trains a byte-level BPE tokenizer (GPT-2 style: any text round-trips, no unknown token) for
// small models trained from scratch, with Hugging Face's `tokenizers` (the Rust library behind
// the Python package, as a Node binding whose native binary ships inside the npm package).
//
// The Node binding trains only with the model's default BPE trainer (vocab_size 30000,
// min_frequency 0, no special tokens, only the bytes seen in the text). BPE training is greedy:
// the merges come out in the same order whatever the target size, and the trainer stops when the
// vocabulary is full. So training once and keeping the merges until `vocabSize` is reached gives
// exactly what a trainer with that vocab_size would give. The vocabulary is then laid out as
// [special tokens, all 256 byte symbols, merged tokens in merge order], and the result is parsed
// and written back by the same Rust library, so the file is one it (and Python) reads.
import { BPE, Tokenizer as RustTokenizer, byteLevelAlphabet, byteLevelPreTokenizer } from 'tokenizers';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../engine/errors.ts';
import { tokenizerFromJson, type Tokenizer } from './tokenizer.ts';

export interface TrainTokenizerOptions {
  /** Total ids, special tokens and the 256 byte symbols included. At most 30000. */
  vocabSize: number;
  /** Special tokens, given ids 0, 1, ... in this order. Default ['<|endoftext|>']. */
  specialTokens?: string[];
  /** Each defaults to the first special token (GPT-2 uses <|endoftext|> for all three). */
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
}

/** The default trainer's vocab_size, the most the Node binding can train. */
export const MAX_TRAINED_VOCAB_SIZE = 30000;

const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

/** Merges as stored by any tokenizers version: "a b" strings (old) or [a, b] pairs (new). */
function mergePairs(merges: unknown): [string, string][] {
  if (!Array.isArray(merges)) throw new Error('the trained tokenizer has no merges array');
  return merges.map((m: unknown) => {
    if (Array.isArray(m)) return [String(m[0]), String(m[1])];
    const s = String(m);
    const space = s.indexOf(' ', 1);
    return [s.slice(0, space), s.slice(space + 1)];
  });
}

/** The trainer's merges, in the order it learnt them. */
function trainMerges(texts: string[]): [string, string][] {
  return withScratchDir((dir) => {
    const corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, texts.join('\n') + '\n');
    const trainer = new RustTokenizer(BPE.empty());
    // add_prefix_space false, as GPT-2: decode(encode(text)) === text exactly.
    trainer.setPreTokenizer(byteLevelPreTokenizer(false, true));
    trainer.train([corpus]);
    const trainedPath = join(dir, 'trained.json');
    trainer.save(trainedPath);
    const trained = JSON.parse(readFileSync(trainedPath, 'utf8')) as { model: { merges: unknown } };
    return mergePairs(trained.model.merges);
  });
}

/** `json` parsed and written back by the Rust library: proof it reads it, in its own layout. */
function canonicalJson(json: object): object {
  return withScratchDir((dir) => {
    const path = join(dir, 'tokenizer.json');
    RustTokenizer.fromString(JSON.stringify(json)).save(path, true);
    return JSON.parse(readFileSync(path, 'utf8')) as object;
  });
}

function withScratchDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-bpe-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Trains a byte-level BPE tokenizer on `texts`. The result has at most `vocabSize` ids (fewer
 * when the text runs out of pairs to merge), encodes without adding special tokens (GPT-2 style:
 * callers append EOS), and saves as tokenizer.json + tokenizer_config.json.
 */
export function trainTokenizer(texts: string[], options: TrainTokenizerOptions): Tokenizer {
  const specialTokens = options.specialTokens ?? ['<|endoftext|>'];
  const { vocabSize } = options;
  if (texts.length === 0) throw new LetheError('trainTokenizer: no training texts');
  if (new Set(specialTokens).size !== specialTokens.length || specialTokens.some((t) => t.length === 0)) {
    throw new LetheError(`trainTokenizer: specialTokens must be distinct non-empty strings, got ${JSON.stringify(specialTokens)}`);
  }
  const alphabet = byteLevelAlphabet().sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const minimum = specialTokens.length + alphabet.length;
  if (!Number.isInteger(vocabSize) || vocabSize < minimum || vocabSize > MAX_TRAINED_VOCAB_SIZE) {
    throw new LetheError(
      `trainTokenizer: vocabSize must be an integer from ${minimum} (special tokens + 256 bytes) to ${MAX_TRAINED_VOCAB_SIZE}, got ${vocabSize}`,
    );
  }
  const roles = { bosToken: options.bosToken, eosToken: options.eosToken, padToken: options.padToken };
  for (const [field, token] of Object.entries(roles)) {
    if (token !== undefined && !specialTokens.includes(token)) {
      throw new LetheError(`trainTokenizer: ${field} "${token}" is not one of specialTokens ${JSON.stringify(specialTokens)}`);
    }
  }

  const merges = trainMerges(texts);
  const vocab: Record<string, number> = {};
  let size = 0;
  for (const token of [...specialTokens, ...alphabet]) vocab[token] = size++;
  const kept: [string, string][] = [];
  for (const [a, b] of merges) {
    if (size >= vocabSize) break;
    kept.push([a, b]);
    // Two merges can build the same string; it is one token.
    if (!(a + b in vocab)) vocab[a + b] = size++;
  }

  const tokenizerJson = canonicalJson({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialTokens.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: kept,
    },
  });
  const first = specialTokens[0];
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: roles.bosToken ?? first,
    eos_token: roles.eosToken ?? first,
    pad_token: roles.padToken ?? first,
    add_bos_token: false,
    add_eos_token: false,
    // Keep decode exact (the default "clean up" turns " ." into ".").
    clean_up_tokenization_spaces: false,
  };
  return tokenizerFromJson(tokenizerJson, config, 'trained tokenizer', 'trained tokenizer config');
}
