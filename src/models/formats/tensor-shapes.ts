// Every Hugging Face tensor name and shape a config implies, and the check that a checkpoint
// holds exactly those: the table that drives loading, like nanoGPT's `from_pretrained` asserts.
//
// GPT-2 (GPT2LMHeadModel): Conv1D weights are stored [in, out] (y = x W + b), unlike
// nn.Linear's [out, in]; the original openai-community checkpoints name tensors without the
// `transformer.` prefix and carry the causal-mask buffers `attn.bias` / `attn.masked_bias`.
// Llama family: nn.Linear weights [out, in]; old checkpoints may carry `rotary_emb.inv_freq`.
import { LetheError } from '../../engine/errors.ts';
import { LAYER_NORM_LAYOUTS, OPT_POSITION_OFFSET, variantOf, type ModelConfig } from './model-config.ts';

/** HF name → shape for every tensor the model needs (a tied head has no tensor of its own). */
export function expectedTensorShapes(config: ModelConfig): Map<string, number[]> {
  const { vocabSize: V, hiddenSize: C, intermediateSize: I, numLayers } = config;
  const shapes = new Map<string, number[]>();
  const add = (name: string, shape: number[]) => shapes.set(name, shape);
  if (config.family === 'gpt2') {
    add('transformer.wte.weight', [V, C]);
    add('transformer.wpe.weight', [config.maxPositions, C]);
    for (let i = 0; i < numLayers; i++) {
      const p = `transformer.h.${i}.`;
      add(`${p}ln_1.weight`, [C]);
      add(`${p}ln_1.bias`, [C]);
      add(`${p}attn.c_attn.weight`, [C, 3 * C]); // [in, out]: q, k, v side by side
      add(`${p}attn.c_attn.bias`, [3 * C]);
      add(`${p}attn.c_proj.weight`, [C, C]);
      add(`${p}attn.c_proj.bias`, [C]);
      add(`${p}ln_2.weight`, [C]);
      add(`${p}ln_2.bias`, [C]);
      add(`${p}mlp.c_fc.weight`, [C, I]);
      add(`${p}mlp.c_fc.bias`, [I]);
      add(`${p}mlp.c_proj.weight`, [I, C]);
      add(`${p}mlp.c_proj.bias`, [C]);
    }
    add('transformer.ln_f.weight', [C]);
    add('transformer.ln_f.bias', [C]);
  } else if (config.family !== 'llama') {
    const L = LAYER_NORM_LAYOUTS[config.family];
    const q = config.numHeads * config.headDim;
    const kv = config.numKvHeads * config.headDim;
    add(`${L.embed}.weight`, [V, C]);
    if (L.positions) add(`${L.positions}.weight`, [config.maxPositions + OPT_POSITION_OFFSET, C]);
    const norm = (name: string) => {
      add(`${name}.weight`, [C]);
      add(`${name}.bias`, [C]);
    };
    const linear = (name: string, out: number, inDim: number, bias: boolean) => {
      add(`${name}.weight`, [out, inDim]); // [out, in]
      if (bias) add(`${name}.bias`, [out]);
    };
    for (let i = 0; i < numLayers; i++) {
      const p = L.layer(i);
      norm(p + L.norm1);
      if (typeof L.qkv === 'string') linear(p + L.qkv, q + 2 * kv, C, config.qkvBias);
      else L.qkv.forEach((name, j) => linear(p + name, j === 0 ? q : kv, C, config.qkvBias));
      linear(p + L.out, C, q, config.outBias);
      if (L.norm2) norm(p + L.norm2);
      linear(p + L.up, I, C, config.mlpBias);
      linear(p + L.down, C, I, config.mlpBias);
    }
    norm(L.finalNorm);
    if (!config.tieWordEmbeddings) linear(L.head, V, C, config.modelType === 'phi');
    return shapes;
  } else {
    const v = variantOf(config);
    const D = config.headDim;
    const q = config.numHeads * D;
    const kv = config.numKvHeads * D;
    add('model.embed_tokens.weight', [V, C]);
    for (let i = 0; i < numLayers; i++) {
      const p = `model.layers.${i}.`;
      if (v.norms !== 'post') add(`${p}input_layernorm.weight`, [C]);
      if (v.fused) {
        add(`${p}self_attn.qkv_proj.weight`, [q + 2 * kv, C]); // [out, in]: q, k, v rows in turn
      } else {
        add(`${p}self_attn.q_proj.weight`, [q, C]); // [out, in]
        add(`${p}self_attn.k_proj.weight`, [kv, C]);
        add(`${p}self_attn.v_proj.weight`, [kv, C]);
      }
      add(`${p}self_attn.o_proj.weight`, [C, q]);
      if (config.qkvBias) {
        add(`${p}self_attn.q_proj.bias`, [q]);
        add(`${p}self_attn.k_proj.bias`, [kv]);
        add(`${p}self_attn.v_proj.bias`, [kv]);
      }
      if (config.outBias) add(`${p}self_attn.o_proj.bias`, [C]);
      if (v.qkNorm !== 'none') {
        add(`${p}self_attn.q_norm.weight`, [v.qkNorm === 'head' ? D : q]);
        add(`${p}self_attn.k_norm.weight`, [v.qkNorm === 'head' ? D : kv]);
      }
      add(`${p}post_attention_layernorm.weight`, [C]);
      if (v.norms === 'sandwich') add(`${p}pre_feedforward_layernorm.weight`, [C]);
      if (v.norms !== 'pre') add(`${p}post_feedforward_layernorm.weight`, [C]);
      if (v.fused) {
        add(`${p}mlp.gate_up_proj.weight`, [2 * I, C]); // gate rows, then up rows
      } else {
        add(`${p}mlp.gate_proj.weight`, [I, C]);
        add(`${p}mlp.up_proj.weight`, [I, C]);
      }
      add(`${p}mlp.down_proj.weight`, [C, I]);
      if (config.mlpBias) {
        add(`${p}mlp.gate_proj.bias`, [I]);
        add(`${p}mlp.up_proj.bias`, [I]);
        add(`${p}mlp.down_proj.bias`, [C]);
      }
    }
    add('model.norm.weight', [C]);
  }
  if (!config.tieWordEmbeddings) add('lm_head.weight', [V, C]);
  return shapes;
}

const GPT2_MASK_BUFFER = /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/;
const ROPE_BUFFER = /\.rotary_emb\.inv_freq$/;
const NEOX_MASK_BUFFER = /^gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias)$/;

/**
 * The tensors under the names `expectedTensorShapes` uses: bare GPT-2 names get the
 * `transformer.` prefix; buffers that are not parameters (GPT-2's causal masks, RoPE's
 * inv_freq) and a tied model's redundant `lm_head.weight` are dropped (transformers ties the
 * head to the embedding whatever that tensor holds). Values are passed through, not copied.
 */
export function normaliseTensorNames<T>(config: ModelConfig, tensors: ReadonlyMap<string, T>, file = 'checkpoint'): Map<string, T> {
  const out = new Map<string, T>();
  for (const [name, value] of tensors) {
    const hfName = normaliseTensorName(config, name);
    if (hfName === null) continue;
    if (out.has(hfName)) throw new LetheError(`${file}: tensor '${hfName}' is present both with and without the 'transformer.' prefix`);
    out.set(hfName, value);
  }
  return out;
}

/** One stored tensor name → its canonical HF name, or null for a tensor the model drops (see normaliseTensorNames). */
export function normaliseTensorName(config: ModelConfig, name: string): string | null {
  let hfName = name;
  if (config.family === 'gpt2') {
    if (GPT2_MASK_BUFFER.test(name)) return null;
    if (!name.startsWith('transformer.') && name !== 'lm_head.weight') hfName = `transformer.${name}`;
  } else if (ROPE_BUFFER.test(name) || NEOX_MASK_BUFFER.test(name)) {
    return null;
  } else if (config.family === 'opt' && name.startsWith('decoder.')) {
    hfName = `model.${name}`; // facebook/opt-* checkpoints saved from OPTModel
  }
  if ((hfName === 'lm_head.weight' || hfName === 'embed_out.weight') && config.tieWordEmbeddings) return null;
  return hfName;
}

const showShape = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Throws a LetheError naming `file` unless `tensors` (after `normaliseTensorNames`) hold exactly
 * the tensors `config` implies, each with its shape. Lists every problem (the first 10).
 */
export function checkTensorShapes(config: ModelConfig, tensors: ReadonlyMap<string, { shape: readonly number[] }>, file: string): void {
  const expected = expectedTensorShapes(config);
  const problems: string[] = [];
  // A tied model's stray lm_head.weight is dropped by normalising, but it must still fit.
  const head = tensors.get('lm_head.weight');
  if (config.tieWordEmbeddings && head && !sameShape(head.shape, [config.vocabSize, config.hiddenSize])) {
    problems.push(`lm_head.weight: config.json implies ${showShape([config.vocabSize, config.hiddenSize])}, found ${showShape(head.shape)}`);
  }
  const found = normaliseTensorNames(config, tensors, file);
  for (const [name, shape] of expected) {
    const t = found.get(name);
    if (!t) problems.push(`missing ${name} ${showShape(shape)}`);
    else if (!sameShape(t.shape, shape)) problems.push(`${name}: config.json implies ${showShape(shape)}, found ${showShape(t.shape)}`);
  }
  for (const [name, t] of found) if (!expected.has(name)) problems.push(`unexpected tensor ${name} ${showShape(t.shape)}`);
  if (problems.length === 0) return;
  const more = problems.length > 10 ? `; and ${problems.length - 10} more` : '';
  const count = problems.length === 1 ? 'a tensor disagrees' : `${problems.length} tensors disagree`;
  throw new LetheError(`${file}: ${count} with config.json (${config.modelType}): ${problems.slice(0, 10).join('; ')}${more}`);
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
