// LoRA on a model: adapters on the linear layers a name pattern selects, trained while every
// base weight stays frozen, then merged into the weights on the host for export. The math
// (update, initialisation, merge) is in nn/lora.ts.

import { LetheError } from '../engine/errors.ts';
import { Rng } from '../engine/random.ts';
import { initLoraA, mergeLoraWeight, type LoraOptions } from '../nn/lora.ts';
import { loraAName, loraBName } from './forward.ts';
import { headModule, linearModules } from './hf-layout.ts';
import { Model, widenWeight } from './model.ts';
import type { HostTensor } from '../engine/dtype.ts';

/** TOFU's LoRA recipe (REFERENCE.md): rank 8, alpha 32, dropout 0.05. */
export const LORA_DEFAULTS: LoraOptions = { r: 8, alpha: 32, dropout: 0.05 };

export interface ApplyLoraOptions extends Partial<LoraOptions> {
  /**
   * Which linear layers get adapters: names matched against the end of the module name, as
   * PEFT's target_modules (["q_proj", "v_proj"]; "attn.c_proj" for GPT-2's attention output
   * only), or a RegExp tested on the full module name ("model.layers.3.mlp.down_proj").
   * Default: every linear layer of the blocks (not the output head).
   */
  targets?: readonly string[] | RegExp;
  /** Seed of A's initial values. Default 0. */
  seed?: number;
}

/**
 * Where a model fuses projections (Phi-3's qkv_proj, gate_up_proj), the names of the unfused ones
 * select the fused layer: PEFT recipes written for Llama (["q_proj", "v_proj"]) then adapt Phi-3's
 * attention, and the merged update lands in the fused weight it saves.
 */
const FUSED_ALIASES: Record<string, string> = { q_proj: 'qkv_proj', k_proj: 'qkv_proj', v_proj: 'qkv_proj', gate_proj: 'gate_up_proj', up_proj: 'gate_up_proj' };

/** The module names `targets` selects among the model's linear layers. */
export function selectModules(model: Model, targets: ApplyLoraOptions['targets']): string[] {
  const all = linearModules(model.config).map((l) => l.module);
  if (targets === undefined) return all.filter((m) => m !== headModule(model.config));
  const fused = all.some((m) => m.endsWith('.qkv_proj'));
  const names = targets instanceof RegExp ? [] : [...new Set(targets.map((t) => (fused && FUSED_ALIASES[t.split('.').pop()!] ? t.replace(/[^.]+$/, FUSED_ALIASES[t.split('.').pop()!]) : t)))];
  const picked = all.filter((m) => (targets instanceof RegExp ? targets.test(m) : names.some((t) => m === t || m.endsWith(`.${t}`))));
  if (picked.length === 0) {
    const shown = targets instanceof RegExp ? String(targets) : JSON.stringify(targets);
    throw new LetheError(`LoRA targets ${shown} match none of the model's linear layers (e.g. ${all.slice(0, 4).join(', ')})`);
  }
  return picked;
}

/**
 * The model with LoRA adapters on the selected layers: A [in, r] drawn as PEFT does, B [r, out]
 * zero, so its outputs start equal to the base model's. Base weights are shared, not copied.
 */
export function applyLora(model: Model, options: ApplyLoraOptions = {}): Model {
  if (model.lora) throw new LetheError('the model already has LoRA adapters: merge them first (mergeLora)');
  const settings: LoraOptions = { r: options.r ?? LORA_DEFAULTS.r, alpha: options.alpha ?? LORA_DEFAULTS.alpha, dropout: options.dropout ?? LORA_DEFAULTS.dropout };
  if (!Number.isInteger(settings.r) || settings.r < 1) throw new LetheError(`LoRA r must be a positive integer, got ${settings.r}`);
  if (!(settings.dropout >= 0 && settings.dropout < 1)) throw new LetheError(`LoRA dropout must be in [0, 1), got ${settings.dropout}`);
  const modules = selectModules(model, options.targets);
  const sizes = new Map(linearModules(model.config).map((l) => [l.module, l]));
  const rng = new Rng(options.seed ?? 0);
  const params = new Map(model.params);
  for (const m of modules) {
    const { inDim, outDim } = sizes.get(m)!;
    params.set(loraAName(m), initLoraA(inDim, settings.r, rng));
    params.set(loraBName(m), { dtype: 'float32', shape: [settings.r, outDim], data: new Float32Array(settings.r * outDim) });
  }
  return new Model(model.config, params, { options: settings, modules }, model.source);
}

/**
 * The model with every adapter merged into its weight, W' = W + (α/r)·A·B, and no adapters. The
 * sum is taken in float32, also over a base kept at bfloat16/float16; `narrow`, given, turns each
 * merged weight into what will be stored (saveModel rounds it to the saved dtype at once), so
 * the float32 copies of a 16-bit base do not all exist together (1B: 3.9 GB).
 */
export function mergeLora(model: Model, narrow?: (merged: HostTensor) => HostTensor): Model {
  if (!model.lora) return model;
  const params = new Map<string, HostTensor>(model.params);
  for (const m of model.lora.modules) {
    params.set(`${m}.weight`, mergedWeight(model, m, narrow));
    params.delete(loraAName(m));
    params.delete(loraBName(m));
  }
  return new Model(model.config, params, null, model.source);
}

/** One adapted module's merged weight W + (α/r)·A·B (float32, or as `narrow` turns it): what mergeLora puts in its place. */
export function mergedWeight(model: Model, module: string, narrow?: (merged: HostTensor) => HostTensor): HostTensor {
  const { options } = model.lora!;
  const merged = mergeLoraWeight(widenWeight(model.params.get(`${module}.weight`)!), model.params.get(loraAName(module))!, model.params.get(loraBName(module))!, options.alpha / options.r);
  return narrow ? narrow(merged) : merged;
}
