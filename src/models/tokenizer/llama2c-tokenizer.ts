// llama2.c's tokenizer (tokenizer.bin / tok512.bin, read by formats/llama2c.ts) with run.c's own
// rules, so that lethe encodes and decodes exactly as llama2.c does:
//   encode: BOS (optional), then a " " dummy prefix when the text is not empty, then one token per
//     UTF-8 character (or, for a character not in the vocabulary, one token per byte: id = byte + 3,
//     the <0xXX> tokens), then merges: repeatedly the adjacent pair whose concatenation is a token
//     with the highest score (the leftmost on ties), until no pair merges.
//   decode: pieces concatenated; after BOS a piece's leading space is dropped (the dummy prefix);
//     <0xXX> pieces are their byte; a lone byte piece that is neither printable nor whitespace is
//     not printed (run.c's safe_printf). A continuation decoded on its own keeps its leading space.
// Ids 0, 1, 2 are <unk>, BOS (<s>) and EOS (</s>); BOS also ends a story (see load-model.ts).
// A vocabulary without byte pieces (the model fixtures' 96 tokens) gets run.c's ids byte + 3 all
// the same (unrelated pieces, as run.c gives them); a character whose byte + 3 falls outside the
// vocabulary, where run.c would read past its table, is one <unk> (id 0), as SentencePiece
// without byte fallback gives it.
//
// encodeWithOffsets: each symbol starts with the span of its character (UTF-16 units; every byte
// of a multi-byte character covers the whole character; the dummy prefix is [0, 0], empty before
// the text) and a merge joins the spans of its two symbols. Spans come from the walk over the
// text rather than from the merged tokens' bytes, which in a vocabulary without byte pieces
// need not spell the text.
//
// The merges use a heap over the candidate pairs (O(n log n)) instead of run.c's rescans (O(n²)),
// with the same order: highest score first, leftmost first on ties.

import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../../engine/errors.ts';
import type { Llama2cTokenizer as Llama2cVocab } from '../formats/llama2c.ts';
import type { ChatMessage, DecodeOptions, EncodeOptions, EncodingWithOffsets, Tokenizer } from './tokenizer.ts';

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

/** What a saved model folder calls its llama2.c tokenizer. */
export const LLAMA2C_TOKENIZER_FILE = 'tokenizer.bin';

export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId = 1;
  readonly eosId = 2;
  readonly padId = undefined;
  readonly chatTemplate = undefined;
  /** Piece (its bytes as a latin1 string) → id. */
  private readonly ids = new Map<string, number>();
  /** Each id's bytes when decoded (a <0xXX> piece: its byte). */
  private readonly decoded: Uint8Array[];

  /** `vocab` from readLlama2cTokenizer; `source` is the file (named in errors, copied by `save`). */
  constructor(private readonly vocab: Llama2cVocab, readonly source: string) {
    this.vocabSize = vocab.pieces.length;
    vocab.bytes.forEach((b, id) => {
      const key = latin1(b);
      if (!this.ids.has(key)) this.ids.set(key, id); // run.c's sorted lookup finds one of equal pieces; the first
    });
    this.decoded = vocab.bytes.map((b, id) => {
      const m = BYTE_PIECE.exec(vocab.pieces[id]);
      return m ? Uint8Array.of(parseInt(m[1], 16)) : b;
    });
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const bos = options.addSpecialTokens ?? true;
    if (text === '') return bos ? [this.bosId] : [];
    const { symbols } = this.symbols(text, false);
    const ids = this.merge(symbols).ids;
    return bos ? [this.bosId, ...ids] : ids;
  }

  encodeWithOffsets(text: string, options: EncodeOptions = {}): EncodingWithOffsets {
    const bos = options.addSpecialTokens ?? true;
    const ids: number[] = bos ? [this.bosId] : [];
    const offsets: [number, number][] = bos ? [[0, 0]] : [];
    if (text !== '') {
      const { symbols, starts, ends } = this.symbols(text, true);
      const merged = this.merge(symbols, starts, ends);
      ids.push(...merged.ids);
      offsets.push(...merged.offsets);
    }
    return { ids, offsets, specialPrefix: bos ? 1 : 0 };
  }

  /**
   * run.c's symbols before merging: the dummy prefix " ", then each UTF-8 character's id, or its
   * bytes + 3; with `spans`, each symbol's [start, end) in UTF-16 units of `text`.
   */
  private symbols(text: string, spans: boolean): { symbols: number[]; starts: number[]; ends: number[] } {
    const space = this.ids.get(' ');
    if (space === undefined) throw new LetheError(`${this.source}: the vocabulary has no " " token (llama2.c's dummy prefix)`);
    const symbols = [space];
    const starts = [0];
    const ends = [0];
    const bytes = new TextEncoder().encode(text);
    let unit = 0; // UTF-16 position of the character at byte i
    for (let i = 0; i < bytes.length; ) {
      let n = 1; // bytes of this UTF-8 character: continuation bytes are 10xxxxxx
      while (i + n < bytes.length && (bytes[i + n] & 0xc0) === 0x80 && n < 4) n++;
      const width = n === 4 ? 2 : 1; // a 4-byte character is a surrogate pair; a lone surrogate became U+FFFD (3 bytes, 1 unit)
      const before = symbols.length;
      const id = this.ids.get(latin1(bytes.subarray(i, i + n)));
      if (id !== undefined) symbols.push(id);
      else if (bytes[i] + 3 < this.vocabSize) {
        // A lead byte (≥ 0xC2) is above every continuation byte (≤ 0xBF): all ids are in range.
        for (let j = i; j < i + n; j++) symbols.push(bytes[j] + 3);
      } else symbols.push(0);
      if (spans) {
        for (let k = before; k < symbols.length; k++) {
          starts.push(unit);
          ends.push(unit + width);
        }
      }
      unit += width;
      i += n;
    }
    return { symbols, starts, ends };
  }

  /**
   * run.c's merges: the best-scoring adjacent pair first (leftmost on ties), until none merges.
   * With `starts`/`ends` (each symbol's span), also each token's span: the union of its symbols'.
   */
  private merge(symbols: number[], starts?: number[], ends?: number[]): { ids: number[]; offsets: [number, number][] } {
    const n = symbols.length;
    const id = Int32Array.from(symbols);
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const alive = new Uint8Array(n).fill(1);
    const key = (i: number) => latin1(this.vocab.bytes[id[i]]);
    // Heap of candidates [score, left index, left id, right index, right id, merged id].
    type Cand = [number, number, number, number, number, number];
    const heap: Cand[] = [];
    const before = (a: Cand, b: Cand) => a[0] > b[0] || (a[0] === b[0] && a[1] < b[1]);
    const push = (c: Cand) => {
      heap.push(c);
      for (let k = heap.length - 1; k > 0; ) {
        const up = (k - 1) >> 1;
        if (!before(heap[k], heap[up])) break;
        [heap[k], heap[up]] = [heap[up], heap[k]];
        k = up;
      }
    };
    const pop = (): Cand => {
      const top = heap[0];
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let k = 0; ; ) {
          const l = 2 * k + 1;
          const r = l + 1;
          let best = k;
          if (l < heap.length && before(heap[l], heap[best])) best = l;
          if (r < heap.length && before(heap[r], heap[best])) best = r;
          if (best === k) break;
          [heap[k], heap[best]] = [heap[best], heap[k]];
          k = best;
        }
      }
      return top;
    };
    const consider = (i: number) => {
      const j = next[i];
      if (i < 0 || j < 0) return;
      const merged = this.ids.get(key(i) + key(j));
      if (merged !== undefined) push([this.vocab.scores[merged], i, id[i], j, id[j], merged]);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.length > 0) {
      const [, i, idI, j, idJ, merged] = pop();
      if (!alive[i] || !alive[j] || next[i] !== j || id[i] !== idI || id[j] !== idJ) continue; // stale
      id[i] = merged;
      if (ends) ends[i] = ends[j];
      alive[j] = 0;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      consider(prev[i]);
      consider(i);
    }
    const ids: number[] = [];
    const offsets: [number, number][] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]) {
      ids.push(id[i]);
      if (starts && ends) offsets.push([starts[i], ends[i]]);
    }
    return { ids, offsets };
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    const parts: Uint8Array[] = [];
    let prev = -1;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      let piece = this.decoded[id];
      if (piece === undefined) throw new LetheError(`${this.source}: token id ${id} is outside the vocabulary of ${this.vocabSize}`);
      const special = id === this.bosId || id === this.eosId || id === 0;
      if (prev === this.bosId && piece[0] === 0x20) piece = piece.subarray(1);
      prev = id;
      if (skip && special) continue;
      // run.c's safe_printf: a lone control byte is not printed. (run.c also drops lone bytes ≥ 0x80,
      // which loses byte-fallback characters; here they are kept so UTF-8 text decodes whole.)
      if (piece.length === 1 && (piece[0] < 0x20 || piece[0] === 0x7f) && !(piece[0] >= 0x09 && piece[0] <= 0x0d)) continue;
      parts.push(piece);
    }
    return new TextDecoder().decode(Buffer.concat(parts));
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(latin1(new TextEncoder().encode(token)));
  }

  idToToken(id: number): string | undefined {
    return this.vocab.pieces[id];
  }

  applyChatTemplate(_messages: ChatMessage[]): string {
    throw new LetheError(`${this.source}: a llama2.c tokenizer has no chat template`);
  }

  /** Copies the tokenizer file into `dir` as tokenizer.bin (what loadModelAndTokenizer finds beside a model). */
  save(dir: string): void {
    mkdirSync(dir, { recursive: true });
    copyFileSync(this.source, join(dir, LLAMA2C_TOKENIZER_FILE));
  }
}
