import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  interleavedToHalves,
  parseLlama2c,
  parseLlama2cTokenizer,
  readLlama2c,
  readLlama2cTokenizer,
} from '../../../src/models/formats/llama2c.ts';
import { checkTensorShapes } from '../../../src/models/formats/tensor-shapes.ts';
import { assertLetheError, assertRejectsLethe } from './safetensors-bytes.ts';

interface Dims { dim: number; hidden: number; layers: number; heads: number; kvHeads: number; vocab: number; seq: number; shared: boolean }
const small: Dims = { dim: 8, hidden: 12, layers: 2, heads: 2, kvHeads: 1, vocab: 5, seq: 4, shared: false };

/** A version-0 file: the header, then every float distinct; returns the parts by name, per layer. */
function buildLlama2c(d: Dims, header?: number[]) {
  const hs = d.dim / d.heads;
  const kv = d.kvHeads * hs;
  const sizes: [string, number, number][] = [
    ['embed', 1, d.vocab * d.dim], ['attnNorm', d.layers, d.dim], ['wq', d.layers, d.dim * d.dim], ['wk', d.layers, kv * d.dim],
    ['wv', d.layers, kv * d.dim], ['wo', d.layers, d.dim * d.dim], ['ffnNorm', d.layers, d.dim], ['w1', d.layers, d.hidden * d.dim],
    ['w2', d.layers, d.dim * d.hidden], ['w3', d.layers, d.hidden * d.dim], ['norm', 1, d.dim], ['cos', 1, d.seq * hs / 2], ['sin', 1, d.seq * hs / 2],
  ];
  if (!d.shared) sizes.push(['wcls', 1, d.vocab * d.dim]);
  const total = sizes.reduce((a, [, n, size]) => a + n * size, 0);
  const floats = new Float32Array(total).map((_, i) => Math.sin(i + 1) * 0.5);
  const parts: Record<string, Float32Array[]> = {};
  let at = 0;
  for (const [name, n, size] of sizes) parts[name] = Array.from({ length: n }, () => floats.subarray(at, (at += size)));
  const ints = header ?? [d.dim, d.hidden, d.layers, d.heads, d.kvHeads, d.shared ? d.vocab : -d.vocab, d.seq];
  const bytes = new Uint8Array(28 + 4 * total);
  const view = new DataView(bytes.buffer);
  ints.forEach((v, i) => view.setInt32(4 * i, v, true));
  bytes.set(new Uint8Array(floats.buffer), 28);
  return { bytes, parts };
}

test('reads the header into a Llama config and every tensor under its HF name', () => {
  const { bytes, parts } = buildLlama2c(small);
  const { config, tensors } = parseLlama2c(bytes, 'model.bin');
  assert.deepEqual(
    [config.hiddenSize, config.intermediateSize, config.numLayers, config.numHeads, config.numKvHeads, config.vocabSize, config.maxPositions, config.headDim],
    [8, 12, 2, 2, 1, 5, 4, 4],
  );
  assert.deepEqual([config.normEps, config.ropeTheta, config.tieWordEmbeddings, config.activation], [1e-5, 10000, false, 'silu']);
  checkTensorShapes(config, tensors, 'model.bin');
  assert.deepEqual(tensors.get('model.embed_tokens.weight')!.data, parts.embed[0]);
  assert.deepEqual(tensors.get('model.layers.1.input_layernorm.weight')!.data, parts.attnNorm[1]);
  assert.deepEqual(tensors.get('model.layers.1.self_attn.v_proj.weight')!.data, parts.wv[1]);
  assert.deepEqual(tensors.get('model.layers.0.self_attn.o_proj.weight')!.data, parts.wo[0]);
  assert.deepEqual(tensors.get('model.layers.1.post_attention_layernorm.weight')!.data, parts.ffnNorm[1]);
  assert.deepEqual(tensors.get('model.layers.1.mlp.gate_proj.weight')!.data, parts.w1[1]);
  assert.deepEqual(tensors.get('model.layers.1.mlp.down_proj.weight')!.data, parts.w2[1]);
  assert.deepEqual(tensors.get('model.layers.0.mlp.up_proj.weight')!.data, parts.w3[0]);
  assert.deepEqual(tensors.get('model.norm.weight')!.data, parts.norm[0]);
  assert.deepEqual(tensors.get('lm_head.weight')!.data, parts.wcls[0]);
  assert.deepEqual(tensors.get('lm_head.weight')!.shape, [5, 8]);
});

test('a positive vocab_size means a classifier shared with the embedding: no lm_head, tied', () => {
  const { bytes } = buildLlama2c({ ...small, shared: true, kvHeads: 2 });
  const { config, tensors } = parseLlama2c(bytes, 'model.bin');
  assert.equal(config.tieWordEmbeddings, true);
  assert.equal(tensors.has('lm_head.weight'), false);
  checkTensorShapes(config, tensors, 'model.bin');
});

test('wq and wk rows go from interleaved pairs to HF halves: HF row h·hs + j·hs/2 + i is row h·hs + 2i + j', () => {
  const { bytes, parts } = buildLlama2c(small);
  const { tensors } = parseLlama2c(bytes, 'model.bin');
  const hs = 4;
  for (const [name, source, heads] of [['q_proj', parts.wq, 2], ['k_proj', parts.wk, 1]] as const) {
    for (let layer = 0; layer < 2; layer++) {
      const hf = tensors.get(`model.layers.${layer}.self_attn.${name}.weight`)!.data as Float32Array;
      for (let r = 0; r < heads * hs; r++) {
        const [h, j, i] = [Math.floor(r / hs), Math.floor((r % hs) / (hs / 2)), r % (hs / 2)];
        const src = h * hs + 2 * i + j;
        for (let c = 0; c < small.dim; c++) assert.equal(hf[r * small.dim + c], source[layer][src * small.dim + c], `${name} row ${r}`);
      }
    }
  }
});

test('attention scores agree: llama2.c interleaved RoPE on its weights = HF rotate_half on the permuted weights', () => {
  const [dim, heads, kvHeads, hs] = [12, 3, 1, 4];
  const wq = new Float32Array(dim * dim).map((_, i) => Math.cos(i * 0.7));
  const wk = new Float32Array(kvHeads * hs * dim).map((_, i) => Math.sin(i * 1.3));
  const x1 = Array.from({ length: dim }, (_, i) => Math.sin(i * 0.3 + 1));
  const x2 = Array.from({ length: dim }, (_, i) => Math.cos(i * 0.9 - 2));
  const matvec = (w: Float32Array, x: number[]) => Array.from({ length: w.length / dim }, (_, r) => x.reduce((s, v, c) => s + w[r * dim + c] * v, 0));
  const ropeInterleaved = (v: number[], pos: number) => {
    const out = [...v];
    for (let i = 0; i < v.length; i += 2) {
      const angle = pos * 10000 ** (-(i % hs) / hs);
      out[i] = v[i] * Math.cos(angle) - v[i + 1] * Math.sin(angle);
      out[i + 1] = v[i] * Math.sin(angle) + v[i + 1] * Math.cos(angle);
    }
    return out;
  };
  const ropeHalves = (v: number[], pos: number) => {
    const out = [...v];
    for (let h = 0; h < v.length / hs; h++) {
      for (let i = 0; i < hs / 2; i++) {
        const angle = pos * 10000 ** (-(2 * i) / hs);
        const [a, b] = [v[h * hs + i], v[h * hs + i + hs / 2]];
        out[h * hs + i] = a * Math.cos(angle) - b * Math.sin(angle);
        out[h * hs + i + hs / 2] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
    return out;
  };
  const scores = (q: number[], k: number[]) => Array.from({ length: heads }, (_, h) => {
    const kvh = Math.floor(h / (heads / kvHeads));
    let s = 0;
    for (let d = 0; d < hs; d++) s += q[h * hs + d] * k[kvh * hs + d];
    return s;
  });
  const [tq, tk] = [5, 2];
  const want = scores(ropeInterleaved(matvec(wq, x1), tq), ropeInterleaved(matvec(wk, x2), tk));
  const hfq = interleavedToHalves(wq, heads, hs, dim);
  const hfk = interleavedToHalves(wk, kvHeads, hs, dim);
  const got = scores(ropeHalves(matvec(hfq, x1), tq), ropeHalves(matvec(hfk, x2), tk));
  want.forEach((w, h) => assert.ok(Math.abs(w - got[h]) < 1e-9 * (1 + Math.abs(w)), `head ${h}: ${w} vs ${got[h]}`));
  // and the unpermuted weights with rotate_half do not agree (the test can tell)
  const wrong = scores(ropeHalves(matvec(wq, x1), tq), ropeHalves(matvec(wk, x2), tk));
  assert.ok(want.some((w, h) => Math.abs(w - wrong[h]) > 1e-3));
});

test('header and size errors name the file, before allocating from header values', () => {
  const good = buildLlama2c(small).bytes;
  const header = (ints: number[]) => buildLlama2c(small, ints).bytes;
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 27), /27 bytes, shorter than llama2.c's 28-byte header/],
    [good.subarray(0, good.byteLength - 4), /implies \d+ bytes, the file has \d+/],
    [header([8, 12, 2, 2, 1, 5, 4]), /classifier shared \(positive vocab_size\)\) implies/],
    [header([8, 12, 2, 0, 1, -5, 4]), /header n_heads is 0, expected a positive integer/],
    [header([8, -12, 2, 2, 1, -5, 4]), /header hidden_dim is -12/],
    [header([8, 12, 2, 2, 1, 0, 4]), /header vocab_size is 0/],
    [header([8, 12, 2, 3, 1, -5, 4]), /n_heads 3 does not divide dim 8/],
    [header([8, 12, 2, 2, 3, -5, 4]), /n_kv_heads 3 does not divide n_heads 2/],
    [header([6, 12, 2, 2, 1, -5, 4]), /head size 3 \(dim \/ n_heads\) must be even/],
    [header([2 ** 30, 2 ** 30, 2 ** 20, 2 ** 10, 2 ** 10, -(2 ** 30), 2 ** 30]), /implies \d{20,} bytes/],
    [header([0x616b3432, 1, 8, 12, 2, 2, 1]), /version 1\/2 llama2.c export/],
  ];
  for (const [bytes, pattern] of cases) assertLetheError(() => parseLlama2c(bytes, 'stories.bin'), 'stories.bin', pattern);
});

function buildTokenizer(maxLen: number, tokens: [string | Uint8Array, number][]): Uint8Array {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0].writeInt32LE(maxLen);
  for (const [piece, score] of tokens) {
    const bytes = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : Buffer.from(piece);
    const head = Buffer.alloc(8);
    head.writeFloatLE(score, 0);
    head.writeInt32LE(bytes.length, 4);
    parts.push(head, bytes);
  }
  return new Uint8Array(Buffer.concat(parts));
}

test('tokenizer.bin: pieces, raw bytes and scores', () => {
  const tokens: [string | Uint8Array, number][] = [['<unk>', 0], ['\n<s>\n', 0], ['é', -1.5], ['', -2], [new Uint8Array([0xe2, 0x82]), -3.25]];
  const tok = parseLlama2cTokenizer(buildTokenizer(5, tokens), 5, 'tokenizer.bin');
  assert.equal(tok.maxTokenLength, 5);
  assert.deepEqual(tok.pieces.slice(0, 4), ['<unk>', '\n<s>\n', 'é', '']);
  assert.deepEqual([...tok.bytes[4]], [0xe2, 0x82]); // a partial UTF-8 sequence survives in `bytes`
  assert.deepEqual([...tok.scores], [0, 0, -1.5, -2, -3.25]);
});

test('tokenizer.bin errors: truncated, too long a piece, trailing bytes, impossible vocab size', () => {
  const bytes = buildTokenizer(3, [['a', 0], ['bc', -1], ['def', -2]]);
  const cases: [Uint8Array, number, RegExp][] = [
    [bytes.subarray(0, bytes.byteLength - 1), 3, /token 2 runs past the end of the file/],
    [bytes.subarray(0, 2), 3, /2 bytes, too short for a llama2.c tokenizer/],
    [bytes.subarray(0, 20), 3, /cannot hold 3 tokens in 20 bytes/],
    [bytes, 2, /11 bytes left after 2 tokens/],
    [bytes, 4, /cannot hold 4 tokens|ends at token 3 of 4/],
    [bytes, 2 ** 40, /cannot hold/],
    [buildTokenizer(2, [['a', 0], ['bcd', 0]]), 2, /token 1 has length 3, outside 0..max_token_length \(2\)/],
    [buildTokenizer(0, [['a', 0]]), 1, /max_token_length is 0/],
  ];
  for (const [b, vocab, pattern] of cases) assertLetheError(() => parseLlama2cTokenizer(b, vocab, 'tok.bin'), 'tok.bin', pattern);
});

test('file readers: a missing file is a LetheError, a written file reads the same', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-llama2c-'));
  try {
    await assertRejectsLethe(readLlama2c(join(dir, 'none.bin')), 'none.bin', /file not found/);
    await assertRejectsLethe(readLlama2cTokenizer(join(dir, 'none.bin'), 3), 'none.bin', /file not found/);
    const { bytes, parts } = buildLlama2c(small);
    writeFileSync(join(dir, 'model.bin'), bytes);
    const { tensors } = await readLlama2c(join(dir, 'model.bin'));
    assert.deepEqual(tensors.get('model.layers.1.mlp.up_proj.weight')!.data, parts.w3[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
