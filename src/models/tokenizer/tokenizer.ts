// The tokenizer every model uses: a Hugging Face `tokenizer.json` (+ `tokenizer_config.json`)
// run by @huggingface/tokenizers (pure JS, synchronous, no native code), with the special-token
// ids and the chat template read from the config. The objects are kept as loaded, so `save`
// writes files that Hugging Face's Python and Rust tokenizers read back unchanged.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { mkdirSync } from 'node:fs';
import { writeFileAtomicSync } from '../../io/atomic-write.ts';
import { join } from 'node:path';
import { LetheError } from '../../engine/errors.ts';
import { renderChatTemplate, type ChatMessage } from './chat-template.ts';
import { nfcOffsets, tokenOffsets, type SurfaceKind } from './offsets.ts';

export type { ChatMessage } from './chat-template.ts';

export interface EncodeOptions {
  /** Add what the tokenizer's post-processor adds (BOS for Llama-style tokenizers). Default true. */
  addSpecialTokens?: boolean;
}

/**
 * Ids with the span of the text each token covers: offsets[i] = [start, end) in UTF-16 code
 * units of the encoded text. Tokens the post-processor adds (BOS) have [0, 0] (or
 * [length, length] after the text); a token made only of characters the normaliser inserts
 * (SentencePiece's prepended "▁") is empty, at the position of the text that follows it; a
 * byte-level token holding part of a character covers that whole character.
 */
export interface EncodingWithOffsets {
  ids: number[];
  offsets: [number, number][];
  /** How many leading ids the post-processor put before the text (BOS). */
  specialPrefix: number;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, padding, chat markers) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn, so generation continues as the assistant. */
  addGenerationPrompt?: boolean;
}

export interface Tokenizer {
  /** Size of the id space: largest id (vocabulary or added token) + 1. */
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  /** The Jinja chat template from the config, if any. */
  readonly chatTemplate: string | undefined;
  /** Where it came from (a tokenizer.json path, or a description), used in error messages. */
  readonly source: string;
  encode(text: string, options?: EncodeOptions): number[];
  /**
   * encode(text) with each token's character span (see EncodingWithOffsets); the ids are
   * exactly encode(text, options). A LetheError when the tokens cannot be mapped back onto the
   * text (a normaliser that rewrites it, e.g. lowercasing, or NFC on text that is not NFC).
   */
  encodeWithOffsets(text: string, options?: EncodeOptions): EncodingWithOffsets;
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Renders `messages` with the config's chat template; a LetheError when there is none. */
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions): string;
  /** Writes tokenizer.json and tokenizer_config.json (each to a temporary name, then renamed). */
  save(dir: string): void;
}

/** A config value for a special token: a string, or an AddedToken record `{ content }`. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

// Through src/io's exclusive temp file: a predictable temporary name could be a planted symlink.
const writeAtomic = (path: string, text: string): void => writeFileAtomicSync(path, text);

class HfBackedTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  readonly chatTemplate: string | undefined;
  private readonly hf: HfTokenizer;
  private readonly specialTokens: Record<string, string | undefined>;
  private readonly surface: SurfaceKind;
  /** Whether the normaliser applies NFC (Qwen2): offsets are then found on the NFC text and mapped back. */
  private readonly nfc: boolean;
  private readonly addedTokenIds: Set<number>;

  constructor(
    private readonly tokenizerJson: Record<string, unknown>,
    private readonly config: Record<string, unknown>,
    readonly source: string,
    configSource: string,
  ) {
    try {
      this.hf = new HfTokenizer(tokenizerJson, config);
    } catch (err) {
      throw new LetheError(`${source}: cannot build a tokenizer from it: ${(err as Error).message}`);
    }
    let maxId = -1;
    for (const id of this.hf.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    this.specialTokens = {
      bos_token: tokenText(config.bos_token),
      eos_token: tokenText(config.eos_token),
      pad_token: tokenText(config.pad_token),
      unk_token: tokenText(config.unk_token),
    };
    const idOf = (field: string): number | undefined => {
      const text = this.specialTokens[field];
      if (text === undefined) return undefined;
      const id = this.hf.token_to_id(text);
      if (id === undefined) throw new LetheError(`${configSource}: ${field} "${text}" is not in the vocabulary of ${source}`);
      return id;
    };
    this.bosId = idOf('bos_token');
    this.eosId = idOf('eos_token');
    this.padId = idOf('pad_token');
    this.surface = surfaceKind(tokenizerJson);
    this.nfc = hasType(tokenizerJson.normalizer, 'NFC');
    this.addedTokenIds = new Set((tokenizerJson.added_tokens as { id?: unknown }[]).map((t) => Number(t.id)));
    const template = config.chat_template;
    if (typeof template === 'string') this.chatTemplate = template;
    else if (Array.isArray(template)) {
      // Several named templates: transformers uses the one named "default".
      const named = (template as { name?: unknown; template?: unknown }[]).find((t) => t.name === 'default');
      this.chatTemplate = typeof named?.template === 'string' ? named.template : undefined;
    }
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /** The ids the post-processor puts before and after a single text (BOS; none for GPT-2), found once. */
  private specialsAround: { before: number[]; after: number[] } | undefined;

  private postProcessorSpecials(): { before: number[]; after: number[] } {
    if (!this.specialsAround) {
      const withSpecials = this.encode('a', { addSpecialTokens: true });
      const plain = this.encode('a', { addSpecialTokens: false });
      const at = findRun(withSpecials, plain);
      this.specialsAround = at < 0 ? { before: [], after: [] } : { before: withSpecials.slice(0, at), after: withSpecials.slice(at + plain.length) };
    }
    return this.specialsAround;
  }

  encodeWithOffsets(text: string, options: EncodeOptions = {}): EncodingWithOffsets {
    const ids = this.encode(text, options);
    let before = 0;
    let after = 0;
    if (options.addSpecialTokens ?? true) {
      // What the post-processor added is around the text's own tokens: the same ids for every
      // text; checked, and found by encoding without them when they differ.
      const specials = this.postProcessorSpecials();
      const fits = ids.length >= specials.before.length + specials.after.length &&
        specials.before.every((id, i) => ids[i] === id) && specials.after.every((id, i) => ids[ids.length - specials.after.length + i] === id);
      if (fits) [before, after] = [specials.before.length, specials.after.length];
      else {
        const plain = this.encode(text, { addSpecialTokens: false });
        before = findRun(ids, plain);
        if (before < 0) throw new LetheError(`${this.source}: the post-processor rewrites the tokens of the text, so they cannot be mapped back onto it`);
        after = ids.length - before - plain.length;
      }
    }
    const inner = ids.slice(before, ids.length - after);
    const pieces = inner.map((id) => this.hf.id_to_token(id) ?? '');
    const offsets: [number, number][] = [
      ...Array.from({ length: before }, (): [number, number] => [0, 0]),
      ...(this.nfc
        ? nfcOffsets(text, (normal) => tokenOffsets(normal, pieces, inner.map((id) => this.addedTokenIds.has(id)), this.surface, this.source), this.source)
        : tokenOffsets(text, pieces, inner.map((id) => this.addedTokenIds.has(id)), this.surface, this.source)),
      ...Array.from({ length: after }, (): [number, number] => [text.length, text.length]),
    ];
    return { ids, offsets, specialPrefix: before };
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    // The library refuses an empty array; the empty sequence decodes to the empty text.
    if (ids.length === 0) return '';
    return this.hf.decode(Array.from(ids), { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  applyChatTemplate(messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (this.chatTemplate === undefined) {
      throw new LetheError(`${this.source}: the tokenizer has no chat_template (tokenizer_config.json or chat_template.jinja)`);
    }
    return renderChatTemplate(this.chatTemplate, messages, {
      ...this.specialTokens,
      add_generation_prompt: options.addGenerationPrompt ?? false,
    }, this.source);
  }

  save(dir: string): void {
    mkdirSync(dir, { recursive: true });
    writeAtomic(join(dir, 'tokenizer.json'), JSON.stringify(this.tokenizerJson, null, 2) + '\n');
    writeAtomic(join(dir, 'tokenizer_config.json'), JSON.stringify(this.config, null, 2) + '\n');
  }
}

/** Where `run` starts inside `ids`, or -1. */
function findRun(ids: readonly number[], run: readonly number[]): number {
  for (let k = 0; k + run.length <= ids.length; k++) {
    if (run.every((id, i) => ids[k + i] === id)) return k;
  }
  return -1;
}

/** Whether any part of a tokenizer.json component (or its Sequence members) has this type. */
function hasType(component: unknown, type: string): boolean {
  if (component === null || typeof component !== 'object') return false;
  if (Array.isArray(component)) return component.some((c) => hasType(c, type));
  const record = component as Record<string, unknown>;
  if (record.type === type) return true;
  return ['pretokenizers', 'decoders', 'processors', 'normalizers'].some((k) => hasType(record[k], type));
}

/** How token strings map back to text: byte-level alphabet (GPT-2, Llama 3, Qwen) or SentencePiece pieces. */
function surfaceKind(json: Record<string, unknown>): SurfaceKind {
  if (hasType(json.pre_tokenizer, 'ByteLevel') || hasType(json.decoder, 'ByteLevel')) return { kind: 'byte-level' };
  const model = json.model as Record<string, unknown>;
  return { kind: 'pieces', byteFallback: model.byte_fallback === true, ...(typeof model.unk_token === 'string' ? { unk: model.unk_token } : {}) };
}

/**
 * A tokenizer from the parsed contents of tokenizer.json and tokenizer_config.json. `source`
 * and `configSource` name where they came from, for error messages.
 */
export function tokenizerFromJson(
  tokenizerJson: unknown,
  config: unknown = {},
  source = 'tokenizer.json',
  configSource = 'tokenizer_config.json',
): Tokenizer {
  const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isRecord(tokenizerJson)) throw new LetheError(`${source}: expected a JSON object`);
  if (!isRecord(tokenizerJson.model)) throw new LetheError(`${source}: missing the "model" object`);
  if (!Array.isArray(tokenizerJson.added_tokens)) throw new LetheError(`${source}: missing the "added_tokens" array`);
  if (!isRecord(config)) throw new LetheError(`${configSource}: expected a JSON object`);
  return new HfBackedTokenizer(tokenizerJson, config, source, configSource);
}
