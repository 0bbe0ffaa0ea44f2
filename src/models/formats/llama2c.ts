// Karpathy's llama2.c checkpoints (`export.py --version 0`, the "legacy" layout `run.c` reads)
// and tokenizer.bin, converted to Hugging Face Llama names and layout so the model code only
// ever sees one form.
//
// model.bin: 7 little-endian int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size
// (negative: a separate classifier follows), max_seq_len; then float32, matrices [out, in]:
// tok_embeddings [V, dim], attention_norm ×L, wq ×L, wk ×L, wv ×L, wo ×L, ffn_norm ×L, w1 ×L
// (gate), w2 ×L (down), w3 ×L (up), norm, freqs_cos and freqs_sin [max_seq_len, head_size/2]
// (dropped: recomputed from θ), then wcls [V, dim] if unshared. The file stores neither RMSNorm
// eps nor RoPE θ: llama2.c uses 1e-5 and 10000.
//
// llama2.c (like Meta's code) rotates interleaved pairs (2i, 2i+1) of each head; HF rotates
// (i, i + head_size/2) ("rotate_half"). As HF's convert_llama_weights_to_hf.py does, the rows of
// wq (with n_heads) and wk (with n_kv_heads) are permuted so the same model runs with
// rotate_half: within each head, HF row j·(hs/2) + i is llama2.c row 2i + j.
import { readFile } from 'node:fs/promises';
import { LetheError } from '../../engine/errors.ts';
import { float32Tensor, type HostTensor } from './host-tensor.ts';
import type { LlamaConfig } from './model-config.ts';

const HEADER_BYTES = 28;
/** "ak42": the magic of llama2.c's newer (version 1 and 2) exports, which this reader refuses. */
const VERSIONED_MAGIC = 0x616b3432;

export interface Llama2cCheckpoint {
  config: LlamaConfig;
  /** HF Llama names and layout (`model.layers.0.self_attn.q_proj.weight`, ...). */
  tensors: Map<string, HostTensor>;
}

/** Reads a llama2.c version-0 `.bin` checkpoint as an HF Llama model. */
export async function readLlama2c(path: string): Promise<Llama2cCheckpoint> {
  return parseLlama2c(await readBytes(path), path);
}

/** The same, from bytes in memory; `file` names it in errors. */
export function parseLlama2c(bytes: Uint8Array, file: string): Llama2cCheckpoint {
  if (bytes.byteLength < HEADER_BYTES) {
    throw new LetheError(`${file}: ${bytes.byteLength} bytes, shorter than llama2.c's 28-byte header`);
  }
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (header.getUint32(0, true) === VERSIONED_MAGIC) {
    throw new LetheError(`${file}: a version 1/2 llama2.c export (magic "ak42"); lethe reads version 0 (export.py --version 0)`);
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, signedVocab, seqLen] = Array.from({ length: 7 }, (_, i) => header.getInt32(4 * i, true));
  const fields = { dim, hidden_dim: hiddenDim, n_layers: nLayers, n_heads: nHeads, n_kv_heads: nKvHeads, max_seq_len: seqLen };
  for (const [name, value] of Object.entries(fields)) {
    if (value <= 0) throw new LetheError(`${file}: header ${name} is ${value}, expected a positive integer`);
  }
  if (signedVocab === 0 || signedVocab === -(2 ** 31)) throw new LetheError(`${file}: header vocab_size is ${signedVocab}`);
  if (dim % nHeads !== 0) throw new LetheError(`${file}: header n_heads ${nHeads} does not divide dim ${dim}`);
  if (nHeads % nKvHeads !== 0) throw new LetheError(`${file}: header n_kv_heads ${nKvHeads} does not divide n_heads ${nHeads}`);
  const headSize = dim / nHeads;
  if (headSize % 2 !== 0) throw new LetheError(`${file}: head size ${headSize} (dim / n_heads) must be even for RoPE`);
  const shared = signedVocab > 0;
  const vocab = Math.abs(signedVocab);
  const kvDim = nKvHeads * headSize;

  // Float counts in file order, in BigInt: int32 header values can imply more than 2^53 bytes.
  const L = BigInt(nLayers);
  const [d, h, v, kv, s] = [dim, hiddenDim, vocab, kvDim, seqLen].map(BigInt);
  const counts = [v * d, L * d, L * d * d, L * kv * d, L * kv * d, L * d * d, L * d, L * h * d, L * d * h, L * h * d, d, s * BigInt(headSize / 2), s * BigInt(headSize / 2)];
  if (!shared) counts.push(v * d);
  const expectedBytes = BigInt(HEADER_BYTES) + 4n * counts.reduce((a, b) => a + b, 0n);
  if (expectedBytes !== BigInt(bytes.byteLength)) {
    const classifier = shared ? 'shared (positive vocab_size)' : 'separate (negative vocab_size)';
    throw new LetheError(
      `${file}: the header (dim ${dim}, hidden_dim ${hiddenDim}, n_layers ${nLayers}, n_heads ${nHeads}, n_kv_heads ${nKvHeads}, ` +
        `vocab_size ${signedVocab}, max_seq_len ${seqLen}, classifier ${classifier}) implies ${expectedBytes} bytes, the file has ${bytes.byteLength}`,
    );
  }

  // Every size now fits the file. Float32 view on the weights (copied if the buffer is misaligned).
  const start = bytes.byteOffset + HEADER_BYTES;
  const floats = start % 4 === 0
    ? new Float32Array(bytes.buffer, start, (bytes.byteLength - HEADER_BYTES) / 4)
    : new Float32Array(bytes.slice(HEADER_BYTES).buffer);
  let at = 0;
  const take = (n: number): Float32Array => floats.subarray(at, (at += n));
  const perLayer = (n: number): Float32Array[] => Array.from({ length: nLayers }, () => take(n));

  const embed = take(vocab * dim);
  const attnNorm = perLayer(dim);
  const wq = perLayer(dim * dim);
  const wk = perLayer(kvDim * dim);
  const wv = perLayer(kvDim * dim);
  const wo = perLayer(dim * dim);
  const ffnNorm = perLayer(dim);
  const w1 = perLayer(hiddenDim * dim);
  const w2 = perLayer(dim * hiddenDim);
  const w3 = perLayer(hiddenDim * dim);
  const norm = take(dim);
  take(seqLen * (headSize / 2) * 2); // freqs_cos, freqs_sin

  const tensors = new Map<string, HostTensor>();
  tensors.set('model.embed_tokens.weight', float32Tensor(embed, [vocab, dim]));
  for (let i = 0; i < nLayers; i++) {
    const p = `model.layers.${i}.`;
    tensors.set(`${p}input_layernorm.weight`, float32Tensor(attnNorm[i], [dim]));
    tensors.set(`${p}self_attn.q_proj.weight`, float32Tensor(interleavedToHalves(wq[i], nHeads, headSize, dim), [dim, dim]));
    tensors.set(`${p}self_attn.k_proj.weight`, float32Tensor(interleavedToHalves(wk[i], nKvHeads, headSize, dim), [kvDim, dim]));
    tensors.set(`${p}self_attn.v_proj.weight`, float32Tensor(wv[i], [kvDim, dim]));
    tensors.set(`${p}self_attn.o_proj.weight`, float32Tensor(wo[i], [dim, dim]));
    tensors.set(`${p}post_attention_layernorm.weight`, float32Tensor(ffnNorm[i], [dim]));
    tensors.set(`${p}mlp.gate_proj.weight`, float32Tensor(w1[i], [hiddenDim, dim]));
    tensors.set(`${p}mlp.down_proj.weight`, float32Tensor(w2[i], [dim, hiddenDim]));
    tensors.set(`${p}mlp.up_proj.weight`, float32Tensor(w3[i], [hiddenDim, dim]));
  }
  tensors.set('model.norm.weight', float32Tensor(norm, [dim]));
  if (!shared) tensors.set('lm_head.weight', float32Tensor(take(vocab * dim), [vocab, dim]));

  const config: LlamaConfig = {
    family: 'llama', modelType: 'llama', vocabSize: vocab, hiddenSize: dim, numLayers: nLayers, numHeads: nHeads,
    numKvHeads: nKvHeads, headDim: headSize, intermediateSize: hiddenDim, maxPositions: seqLen, normEps: 1e-5,
    ropeTheta: 10000, tieWordEmbeddings: shared, qkvBias: false, outBias: false, mlpBias: false, activation: 'silu',
    // BOS (1) also ends generation: llama2.c's TinyStories models end a story by starting the next (run.c stops on it).
    slidingWindow: null, bosTokenId: 1, eosTokenId: [2, 1],
  };
  return { config, tensors };
}

/**
 * Rows of a [heads·headSize, cols] projection from interleaved RoPE pairs to HF's halves:
 * HF's `w.view(heads, hs/2, 2, cols).transpose(1, 2).reshape(heads·hs, cols)`.
 */
export function interleavedToHalves(w: Float32Array, heads: number, headSize: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headSize / 2;
  for (let head = 0; head < heads; head++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const from = (head * headSize + 2 * i + j) * cols;
        out.set(w.subarray(from, from + cols), (head * headSize + j * half + i) * cols);
      }
    }
  }
  return out;
}

export interface Llama2cTokenizer {
  /** The longest piece in bytes, as the file's header says. */
  maxTokenLength: number;
  /** Each token's text (UTF-8 decoded; invalid bytes become U+FFFD, see `bytes`). */
  pieces: string[];
  /** Each token's raw bytes. */
  bytes: Uint8Array[];
  /** Merge scores: llama2.c's encoder merges the best-scoring pair first. */
  scores: Float32Array;
}

/** Reads llama2.c's tokenizer.bin: int32 max_token_length, then per token f32 score, i32 length, bytes. */
export async function readLlama2cTokenizer(path: string, vocabSize: number): Promise<Llama2cTokenizer> {
  return parseLlama2cTokenizer(await readBytes(path), vocabSize, path);
}

export function parseLlama2cTokenizer(bytes: Uint8Array, vocabSize: number, file: string): Llama2cTokenizer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) throw new LetheError(`${file}: ${bytes.byteLength} bytes, too short for a llama2.c tokenizer`);
  if (!Number.isSafeInteger(vocabSize) || vocabSize <= 0 || 4 + 8 * vocabSize > bytes.byteLength) {
    throw new LetheError(`${file}: cannot hold ${vocabSize} tokens in ${bytes.byteLength} bytes (truncated, or vocab_size does not match)`);
  }
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0) throw new LetheError(`${file}: max_token_length is ${maxTokenLength}, expected a positive integer`);
  const decoder = new TextDecoder('utf-8');
  const pieces: string[] = [];
  const raw: Uint8Array[] = [];
  const scores = new Float32Array(vocabSize);
  let at = 4;
  for (let id = 0; id < vocabSize; id++) {
    if (at + 8 > bytes.byteLength) throw new LetheError(`${file}: ends at token ${id} of ${vocabSize} (truncated, or vocab_size does not match)`);
    scores[id] = view.getFloat32(at, true);
    const length = view.getInt32(at + 4, true);
    at += 8;
    if (length < 0 || length > maxTokenLength) {
      throw new LetheError(`${file}: token ${id} has length ${length}, outside 0..max_token_length (${maxTokenLength})`);
    }
    if (at + length > bytes.byteLength) throw new LetheError(`${file}: token ${id} runs past the end of the file (truncated)`);
    const piece = bytes.slice(at, at + length);
    raw.push(piece);
    pieces.push(decoder.decode(piece));
    at += length;
  }
  if (at !== bytes.byteLength) {
    throw new LetheError(`${file}: ${bytes.byteLength - at} bytes left after ${vocabSize} tokens (does vocab_size match the model?)`);
  }
  return { maxTokenLength, pieces, bytes: raw, scores };
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LetheError(code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read the file (${code})`);
  }
}
