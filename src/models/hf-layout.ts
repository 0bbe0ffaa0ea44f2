// Hugging Face checkpoint layout ⇄ the engine's. Names stay HF's; the one difference is that
// nn.Linear stores its weight [out, in] (y = x·Wᵀ) while the engine keeps every linear weight
// [in, out] (y = x·W, one MatMul with no transpose in the graph). So those weights are
// transposed on the host, once, at load and at save. GPT-2's Conv1D is [in, out] already: only
// an untied GPT-2 lm_head (an nn.Linear) is transposed there.

import type { HostTensor } from '../engine/dtype.ts';
import { LetheError } from '../engine/errors.ts';
import type { HostTensor as FileTensor } from './formats/host-tensor.ts';
import { isLazy, type LazyTensor } from './formats/safetensors.ts';
import { LAYER_NORM_LAYOUTS, variantOf, type ModelConfig } from './formats/model-config.ts';
import { expectedTensorShapes } from './formats/tensor-shapes.ts';

/** A linear layer of the model: its module name (the weight is `${module}.weight`) and sizes. */
export interface LinearModule {
  module: string;
  inDim: number;
  outDim: number;
}

/** Every linear layer, in HF order: what LoRA can adapt and what a name pattern selects from. */
export function linearModules(config: ModelConfig): LinearModule[] {
  const { hiddenSize: C, intermediateSize: I, vocabSize: V } = config;
  const out: LinearModule[] = [];
  const add = (module: string, inDim: number, outDim: number) => out.push({ module, inDim, outDim });
  for (let i = 0; i < config.numLayers; i++) {
    if (config.family === 'gpt2') {
      const h = `transformer.h.${i}.`;
      add(`${h}attn.c_attn`, C, 3 * C);
      add(`${h}attn.c_proj`, C, C);
      add(`${h}mlp.c_fc`, C, I);
      add(`${h}mlp.c_proj`, I, C);
    } else if (config.family !== 'llama') {
      const L = LAYER_NORM_LAYOUTS[config.family];
      const p = L.layer(i);
      const q = config.numHeads * config.headDim;
      const kv = config.numKvHeads * config.headDim;
      if (typeof L.qkv === 'string') add(p + L.qkv, C, q + 2 * kv);
      else L.qkv.forEach((name, j) => add(p + name, C, j === 0 ? q : kv));
      add(p + L.out, q, C);
      add(p + L.up, C, I);
      add(p + L.down, I, C);
    } else {
      const l = `model.layers.${i}.`;
      const q = config.numHeads * config.headDim;
      const kv = config.numKvHeads * config.headDim;
      if (variantOf(config).fused) {
        add(`${l}self_attn.qkv_proj`, C, q + 2 * kv);
      } else {
        add(`${l}self_attn.q_proj`, C, q);
        add(`${l}self_attn.k_proj`, C, kv);
        add(`${l}self_attn.v_proj`, C, kv);
      }
      add(`${l}self_attn.o_proj`, q, C);
      if (variantOf(config).fused) {
        add(`${l}mlp.gate_up_proj`, C, 2 * I);
      } else {
        add(`${l}mlp.gate_proj`, C, I);
        add(`${l}mlp.up_proj`, C, I);
      }
      add(`${l}mlp.down_proj`, I, C);
    }
  }
  if (!config.tieWordEmbeddings) add(headModule(config), C, V);
  return out;
}

/**
 * Block `layer`'s MLP output projection (what RMU-style scopes update): `mlp.down_proj` in the
 * Llama family, `mlp.c_proj` in GPT-2, `mlp.dense_4h_to_h` in GPT-NeoX, `mlp.fc2` in Phi, `fc2` in OPT.
 */
export function mlpOutputModule(config: ModelConfig, layer: number): string {
  if (config.family === 'gpt2') return `transformer.h.${layer}.mlp.c_proj`;
  if (config.family === 'llama') return `model.layers.${layer}.mlp.down_proj`;
  const L = LAYER_NORM_LAYOUTS[config.family];
  return L.layer(layer) + L.down;
}

/** The output layer's module name (`lm_head`; GPT-NeoX's `embed_out`). */
export function headModule(config: ModelConfig): string {
  return config.family === 'gpt2' || config.family === 'llama' ? 'lm_head' : LAYER_NORM_LAYOUTS[config.family].head;
}

/** Whether HF stores tensor `name` as an nn.Linear weight [out, in] (transposed from the engine's). */
export function isHfLinearWeight(config: ModelConfig, name: string): boolean {
  if (name === 'lm_head.weight') return true;
  if (config.family === 'gpt2') return false;
  if (config.family === 'llama') return /_proj\.weight$/.test(name);
  // Every 2-D weight of a LayerNorm decoder but its embeddings is an nn.Linear.
  const L = LAYER_NORM_LAYOUTS[config.family];
  return name.endsWith('.weight') && !name.startsWith(`${L.embed}.`) && !(L.positions && name.startsWith(`${L.positions}.`)) && !/(layernorm|layer_norm)\.weight$/.test(name);
}

/** [R, C] → [C, R] on the host (float32, or bfloat16/float16 bit patterns). */
export function transpose2d(t: HostTensor): HostTensor {
  const [rows, cols] = t.shape;
  const src = t.data as Float32Array | Uint16Array;
  const out = src instanceof Uint16Array ? new Uint16Array(src.length) : new Float32Array(src.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = src[base + c];
  }
  return { dtype: t.dtype, shape: [cols, rows], data: out };
}

/**
 * Checkpoint tensors (HF names and layout, already checked against the config) → the engine's
 * parameter table: float32 (bfloat16/float16 kept as they are), linear weights [in, out]. `file`
 * names the source in errors.
 *
 * `tensors` is consumed: each entry leaves the map as soon as its engine copy exists, so a
 * transposed weight and its checkpoint layout coexist one tensor at a time. Holding the whole
 * checkpoint until the end made loading peak at about 1.75× the float32 weights (issue 15).
 */
export function fromHfTensors(config: ModelConfig, tensors: Map<string, FileTensor>, file: string): Map<string, HostTensor> {
  const params = new Map<string, HostTensor>();
  // In the config's canonical order (as createModel makes them), whatever order the file had.
  const names = [...expectedTensorShapes(config).keys()].filter((n) => tensors.has(n));
  for (const name of [...names, ...[...tensors.keys()].filter((n) => !names.includes(n))]) {
    const t = tensors.get(name)!;
    tensors.delete(name);
    let value: HostTensor;
    if (t.dtype === 'float32' || t.dtype === 'bfloat16' || t.dtype === 'float16') value = { dtype: t.dtype, shape: [...t.shape], data: t.data as Float32Array | Uint16Array };
    else if (t.dtype === 'float64') value = { dtype: 'float32', shape: [...t.shape], data: Float32Array.from(t.data as Float64Array) };
    else throw new LetheError(`${file}: tensor '${name}' is ${t.dtype}; model weights must be floating point (F32, F16, BF16 or F64)`);
    params.set(name, isHfLinearWeight(config, name) && !t.transposed ? transpose2d(value) : value);
  }
  return params;
}

/**
 * The engine's parameter table → HF names and layout, for saving. Only HF tensors (no adapters).
 * A value given as a LazyTensor stays one; an nn.Linear weight becomes a LazyTensor transposed
 * when the writer makes it (safetensors.ts), so no transposed copy of every weight exists at once.
 */
export function toHfTensors(config: ModelConfig, params: ReadonlyMap<string, HostTensor | LazyTensor>, names: Iterable<string>): Map<string, HostTensor | LazyTensor> {
  const out = new Map<string, HostTensor | LazyTensor>();
  for (const name of names) {
    const t = params.get(name);
    if (!t) throw new LetheError(`model has no parameter "${name}" to save`);
    if (!isHfLinearWeight(config, name)) {
      out.set(name, t);
      continue;
    }
    const [rows, cols] = t.shape;
    out.set(name, { dtype: t.dtype, shape: [cols, rows], make: () => transpose2d((isLazy(t) ? t.make() : t) as HostTensor) });
  }
  return out;
}
