// llama2.c's tokenizer.bin (Karpathy's export of a SentencePiece BPE model: each piece with its
// score, "▁" stored as a space, BOS/EOS as "\n<s>\n"/"\n</s>\n", bytes as "<0xNN>") converted to
// a Hugging Face tokenizer.json in the Llama 2 (legacy) form, so it runs through the same
// tokenizer, batching and token-boundary code as every other model and saves in HF format.
//
// run.c's encoder prepends one space (SentencePiece's dummy prefix), looks each UTF-8 character
// up (bytes + 3 when absent: the <0xNN> pieces), then repeatedly merges the adjacent pair whose
// concatenation is a piece with the highest score. A BPE model does the same when its merges
// list every split (a, b) of every piece into two pieces, ranked by the piece's score (highest
// first; as transformers' SentencePieceExtractor orders them: then by the ids of a and b). The
// normaliser (Prepend "▁", Replace " " → "▁") is the dummy prefix. Ids 0, 1, 2 are <unk>, <s>,
// </s> as special added tokens; BOS is added by the post-processor as run.c adds it.
import { LetheError } from '../../engine/errors.ts';
import type { Llama2cTokenizer } from '../formats/llama2c.ts';
import { tokenizerFromJson, type Tokenizer } from './tokenizer.ts';

const SPACE = '\u2581';
const SPECIALS = ['<unk>', '<s>', '</s>'];

/** tokenizer.json and tokenizer_config.json contents for a llama2.c tokenizer; `source` names it in errors. */
export function llama2cTokenizerJson(tokenizer: Llama2cTokenizer, source: string): { tokenizerJson: Record<string, unknown>; config: Record<string, unknown> } {
  const { pieces, scores } = tokenizer;
  if (pieces.length <= SPECIALS.length) {
    throw new LetheError(`${source}: ${pieces.length} tokens; a llama2.c tokenizer has <unk>, <s>, </s> and then its pieces`);
  }
  // run.c turns a character missing from the vocabulary into ids byte + 3: bytes when ids 3..258
  // are the <0xNN> pieces (SentencePiece's byte fallback). Without them those ids are unrelated
  // pieces, which no tokenizer.json can express: such characters become <unk>.
  const byteFallback = pieces.length >= SPECIALS.length + 256 &&
    Array.from({ length: 256 }, (_, b) => pieces[SPECIALS.length + b] === `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).every(Boolean);
  const vocab: Record<string, number> = {};
  const names = pieces.map((piece, id) => (id < SPECIALS.length ? SPECIALS[id] : piece.replaceAll(' ', SPACE)));
  names.forEach((name, id) => {
    if (name in vocab) throw new LetheError(`${source}: token ${id} ("${name}") repeats token ${vocab[name]}; pieces must be distinct`);
    vocab[name] = id;
  });
  const candidates: { a: string; b: string; score: number; id: number; ia: number; ib: number }[] = [];
  for (let id = SPECIALS.length; id < names.length; id++) {
    const chars = [...names[id]];
    for (let k = 1; k < chars.length; k++) {
      const a = chars.slice(0, k).join('');
      const b = chars.slice(k).join('');
      const ia = vocab[a];
      const ib = vocab[b];
      if (ia !== undefined && ib !== undefined && ia >= SPECIALS.length && ib >= SPECIALS.length) {
        candidates.push({ a, b, score: scores[id], id, ia, ib });
      }
    }
  }
  candidates.sort((x, y) => y.score - x.score || x.id - y.id || x.ia - y.ia || x.ib - y.ib);
  const special = (id: number) => ({ id, content: SPECIALS[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((_, id) => special(id)),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: SPACE }, { type: 'Replace', pattern: { String: ' ' }, content: SPACE }] },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: byteFallback, ignore_merges: false, vocab, merges: candidates.map((c) => [c.a, c.b]),
    },
  };
  const config = {
    tokenizer_class: 'LlamaTokenizerFast',
    bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>',
    add_bos_token: true, add_eos_token: false, legacy: true, clean_up_tokenization_spaces: false,
  };
  return { tokenizerJson, config };
}

/** A Tokenizer for llama2.c's tokenizer.bin (see the top of the file); `source` names it in errors. */
export function tokenizerFromLlama2c(tokenizer: Llama2cTokenizer, source: string): Tokenizer {
  const { tokenizerJson, config } = llama2cTokenizerJson(tokenizer, source);
  return tokenizerFromJson(tokenizerJson, config, source, `${source} (converted config)`);
}
