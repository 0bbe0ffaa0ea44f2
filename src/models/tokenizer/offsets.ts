// Character spans of tokens, recovered from the token strings: @huggingface/tokenizers gives ids
// and token strings but no offsets. Each token's string is turned back into the bytes it stands
// for (the byte-level alphabet of GPT-2/Llama 3/Qwen, or SentencePiece pieces with "▁" for a
// space and <0xNN> byte fallback) and walked along the text's UTF-8 bytes. Two things the
// tokenizer does to the text are allowed: a space ("▁") it inserts (SentencePiece's prepended
// dummy prefix) covers no text, and whitespace it drops (an added token's lstrip/rstrip) is
// covered by no token. Anything else that does not match is an error, never a guess.
import { LetheError } from '../../engine/errors.ts';

export type SurfaceKind = { kind: 'byte-level' } | { kind: 'pieces'; byteFallback: boolean };

/** GPT-2's bytes_to_unicode, inverted: the character a byte-level token uses → the byte. */
const UNICODE_TO_BYTE: Map<string, number> = (() => {
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    map.set(String.fromCodePoint(printable ? b : 256 + extra++), b);
  }
  return map;
})();

const encoder = new TextEncoder();
const BYTE_FALLBACK = /^<0x([0-9A-Fa-f]{2})>$/;

function surfaceBytes(piece: string, added: boolean, surface: SurfaceKind): Uint8Array | undefined {
  if (added) return encoder.encode(piece);
  if (surface.kind === 'byte-level') {
    const out = new Uint8Array(piece.length);
    let n = 0;
    for (const ch of piece) {
      const b = UNICODE_TO_BYTE.get(ch);
      if (b === undefined) return undefined;
      out[n++] = b;
    }
    return out.subarray(0, n);
  }
  const hex = surface.byteFallback ? BYTE_FALLBACK.exec(piece) : null;
  if (hex) return Uint8Array.of(parseInt(hex[1], 16));
  return encoder.encode(piece.replaceAll('\u2581', ' '));
}

const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * [start, end) of each token in `text` (UTF-16 code units); `pieces[i]` is token i's string,
 * `added[i]` whether it is an added token (matched literally in the text). `source` names the
 * tokenizer in errors. Tokens covering no text are empty, at the position of what follows them.
 */
export function tokenOffsets(text: string, pieces: readonly string[], added: readonly boolean[], surface: SurfaceKind, source: string): [number, number][] {
  // SentencePiece turns a literal "▁" into the same piece as a space.
  const aligned = surface.kind === 'pieces' ? text.replaceAll('\u2581', ' ') : text;
  const bytes = encoder.encode(aligned);
  // For each byte: the UTF-16 index where its character starts and where it ends.
  const charStart = new Int32Array(bytes.length + 1);
  const charEnd = new Int32Array(bytes.length + 1);
  let at = 0;
  for (let u = 0; u < aligned.length; ) {
    const cp = aligned.codePointAt(u)!;
    const units = cp > 0xffff ? 2 : 1;
    const width = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < width; k++) {
      charStart[at + k] = u;
      charEnd[at + k] = u + units;
    }
    at += width;
    u += units;
  }
  charStart[bytes.length] = aligned.length;
  charEnd[bytes.length] = aligned.length;

  const fail = (i: number, why: string): never => {
    throw new LetheError(
      `${source}: cannot map token ${i} ("${pieces[i]}") back onto the text at character ${charStart[Math.min(p, bytes.length)]} (${why}); the tokenizer rewrites the text (a normaliser such as lowercasing, or NFC on text that is not NFC)`,
    );
  };
  const offsets: [number, number][] = [];
  let p = 0;
  for (let i = 0; i < pieces.length; i++) {
    const s = surfaceBytes(pieces[i], added[i], surface);
    if (s === undefined) fail(i, 'not a byte-level token');
    let first = -1;
    let last = -1;
    for (const b of s!) {
      for (;;) {
        if (p < bytes.length && bytes[p] === b) {
          if (first < 0) first = p;
          last = p++;
          break;
        }
        if (b === 0x20 && !added[i]) break; // a space the tokenizer inserted
        if (p < bytes.length && isSpace(bytes[p])) {
          p++; // whitespace the tokenizer dropped
          continue;
        }
        fail(i, p < bytes.length ? 'the text differs' : 'past the end of the text');
      }
    }
    offsets.push(first < 0 ? [charStart[p], charStart[p]] : [charStart[first], charEnd[last]]);
  }
  while (p < bytes.length && isSpace(bytes[p])) p++;
  if (p < bytes.length) {
    throw new LetheError(`${source}: the tokens cover the text only up to character ${charStart[p]} of ${text.length}; the tokenizer rewrites the text`);
  }
  return offsets;
}
