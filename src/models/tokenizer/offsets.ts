// Character spans of tokens, recovered from the token strings: @huggingface/tokenizers gives ids
// and token strings but no offsets. Each token's string is turned back into the bytes it stands
// for (the byte-level alphabet of GPT-2/Llama 3/Qwen, or SentencePiece pieces with "▁" for a
// space and <0xNN> byte fallback) and walked along the text's UTF-8 bytes. Two things the
// tokenizer does to the text are allowed: a space ("▁") it inserts (SentencePiece's prepended
// dummy prefix) covers no text, and whitespace it drops (an added token's lstrip/rstrip) is
// covered by no token. An NFC normaliser (Qwen2) is followed exactly: offsets are found on the
// NFC text and mapped back to the given text (a cluster of base + combining marks that NFC
// changes maps as a whole). The model's unknown token (a vocabulary without byte fallback) covers
// the characters up to where the next token's text starts. Anything else that does not match is
// an error, never a guess.
import { LetheError } from '../../engine/errors.ts';

export type SurfaceKind = { kind: 'byte-level' } | { kind: 'pieces'; byteFallback: boolean; unk?: string };

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
const utf8Length = (lead: number): number => (lead < 0xc0 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4);

function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let k = 0; k < prefix.length; k++) if (bytes[at + k] !== prefix[k]) return false;
  return true;
}

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
    if (surface.kind === 'pieces' && pieces[i] === surface.unk && !startsWith(bytes, p, s!)) {
      // The model's unknown token (no byte fallback): it covers the characters up to where the
      // next token's text starts (one character at least; several when fuse_unk joined them).
      const first = p;
      const next = i + 1 < pieces.length ? surfaceBytes(pieces[i + 1], added[i + 1], surface) : undefined;
      // The next token's text starts with its first byte, or its second when the first is a space
      // the tokenizer may have inserted.
      const startsNext = (b: number): boolean =>
        next !== undefined && next.length > 0 && (b === next[0] || (next[0] === 0x20 && !added[i + 1] && next.length > 1 && b === next[1]));
      // The last token covers the rest of the text.
      do p += utf8Length(bytes[p]);
      while (p < bytes.length && (next === undefined || !startsNext(bytes[p])));
      p = Math.min(p, bytes.length);
      offsets.push(first < bytes.length ? [charStart[first], charEnd[p - 1]] : [charStart[p], charStart[p]]);
      continue;
    }
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

/**
 * Offsets on `text` for a tokenizer that normalises to NFC: `align` finds them on the NFC text;
 * a span inside a cluster (a base character and its combining marks) that NFC changes is widened
 * to the whole cluster of `text`, elsewhere it maps unit for unit. A LetheError when NFC composes across clusters (e.g. Hangul jamo), which this cannot map.
 */
export function nfcOffsets(text: string, align: (normal: string) => [number, number][], source: string): [number, number][] {
  const normal = text.normalize('NFC');
  if (normal === text) return align(text);
  // For each unit of the NFC text: where its cluster starts and ends in `text`.
  const start = new Int32Array(normal.length + 1);
  const end = new Int32Array(normal.length + 1);
  let n = 0;
  let o = 0;
  for (const cluster of text.match(/\P{M}\p{M}*|\p{M}+/gsu) ?? []) {
    const composed = cluster.normalize('NFC');
    if (normal.slice(n, n + composed.length) !== composed) {
      throw new LetheError(`${source}: NFC joins characters across clusters at character ${o}, so the tokens cannot be mapped back onto the text`);
    }
    // A cluster NFC leaves alone maps unit for unit; one it changes maps as a whole.
    const same = composed === cluster;
    for (let k = 0; k < composed.length; k++) {
      start[n + k] = same ? o + k : o;
      end[n + k] = same ? o + k + 1 : o + cluster.length;
    }
    n += composed.length;
    o += cluster.length;
  }
  if (n !== normal.length) throw new LetheError(`${source}: NFC changes the text in a way that cannot be mapped back onto it`);
  start[normal.length] = text.length;
  return align(normal).map(([s, e]): [number, number] => (s === e ? [start[s], start[s]] : [start[s], end[e - 1]]));
}
