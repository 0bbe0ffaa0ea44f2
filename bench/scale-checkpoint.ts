// The scale suite's model: random weights in a real model's shape, written once as a Hugging Face
// folder (config.json + one BF16 model.safetensors) that lethe and the PyTorch peer both load.
// Written in 64 MiB pieces, so writing a 1B-parameter file needs no more memory than that.

import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The fields of a Llama-family config.json the suite's shapes differ in. */
export interface ScaleShape {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  vocab: number;
  ropeTheta: number;
  maxPositions: number;
}

/** Llama-3.2-1B (its config.json, rope_scaling left out: it changes the angles, not the cost). */
export const LLAMA_1B: ScaleShape = { hidden: 2048, layers: 16, heads: 32, kvHeads: 8, intermediate: 8192, vocab: 128256, ropeTheta: 500000, maxPositions: 131072 };
/** SmolLM2-360M. */
export const SMOLLM_360M: ScaleShape = { hidden: 960, layers: 32, heads: 15, kvHeads: 5, intermediate: 2560, vocab: 49152, ropeTheta: 100000, maxPositions: 8192 };
/** A few-MB stand-in with the same structure (grouped-query attention, tied head), for tests and smoke runs. */
export const TINY: ScaleShape = { hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128, vocab: 512, ropeTheta: 10000, maxPositions: 256 };

/** HF tensor names and shapes of a tied Llama checkpoint, in file order. */
export function tensorShapes(s: ScaleShape): [string, number[]][] {
  const hd = s.hidden / s.heads;
  const out: [string, number[]][] = [['model.embed_tokens.weight', [s.vocab, s.hidden]]];
  for (let i = 0; i < s.layers; i++) {
    const p = `model.layers.${i}.`;
    out.push(
      [`${p}input_layernorm.weight`, [s.hidden]],
      [`${p}self_attn.q_proj.weight`, [s.heads * hd, s.hidden]],
      [`${p}self_attn.k_proj.weight`, [s.kvHeads * hd, s.hidden]],
      [`${p}self_attn.v_proj.weight`, [s.kvHeads * hd, s.hidden]],
      [`${p}self_attn.o_proj.weight`, [s.hidden, s.heads * hd]],
      [`${p}post_attention_layernorm.weight`, [s.hidden]],
      [`${p}mlp.gate_proj.weight`, [s.intermediate, s.hidden]],
      [`${p}mlp.up_proj.weight`, [s.intermediate, s.hidden]],
      [`${p}mlp.down_proj.weight`, [s.hidden, s.intermediate]],
    );
  }
  out.push(['model.norm.weight', [s.hidden]]);
  return out;
}

export function parameterCount(s: ScaleShape): number {
  return tensorShapes(s).reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
}

function configJson(s: ScaleShape): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: s.hidden, num_hidden_layers: s.layers,
    num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, head_dim: s.hidden / s.heads, intermediate_size: s.intermediate,
    vocab_size: s.vocab, max_position_embeddings: s.maxPositions, rope_theta: s.ropeTheta, rms_norm_eps: 1e-5,
    hidden_act: 'silu', tie_word_embeddings: true, attention_bias: false, mlp_bias: false, torch_dtype: 'bfloat16',
    bos_token_id: 1, eos_token_id: 2,
  };
}

/**
 * Writes (once: an existing complete folder is reused) the checkpoint of shape `s` into `dir`:
 * norms 1, every matrix uniform in ±0.02·√3 (std 0.02, the Llama initialiser's scale), stored as
 * BF16 (the upper half of each float32). Deterministic for a given shape. Returns `dir`.
 */
export function writeScaleCheckpoint(dir: string, s: ScaleShape): string {
  const done = join(dir, 'complete');
  if (existsSync(done)) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson(s), null, 2));
  const shapes = tensorShapes(s);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let at = 0;
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const tmp = join(dir, 'model.safetensors.tmp');
  const fd = openSync(tmp, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json, 'latin1'));
    const CHUNK = 1 << 25; // values per piece (64 MiB of BF16)
    const f32 = new Float32Array(CHUNK);
    const u32 = new Uint32Array(f32.buffer);
    const bf16 = new Uint16Array(CHUNK);
    let x = 0x9e3779b9; // xorshift32 state
    const scale = (0.02 * Math.sqrt(3) * 2) / 2 ** 32;
    for (const [name, shape] of shapes) {
      let left = shape.reduce((a, b) => a * b, 1);
      const norm = name.endsWith('norm.weight');
      while (left > 0) {
        const n = Math.min(left, CHUNK);
        if (norm) bf16.fill(0x3f80, 0, n); // 1.0
        else {
          for (let i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            f32[i] = (x >>> 0) * scale - 0.02 * Math.sqrt(3);
            bf16[i] = u32[i] >>> 16;
          }
        }
        writeSync(fd, bf16.subarray(0, n));
        left -= n;
      }
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, 'model.safetensors'));
  writeFileSync(done, '');
  return dir;
}
