/**
 * Quantisation attack (REFERENCE.md; Zhang et al. 2024, "Catastrophic failure of LLM unlearning
 * via quantization": methods that keep utility hold back ~21% of the forgotten knowledge at full
 * precision and ~83% after 4-bit quantisation). Unlearning with a small learning rate moves the
 * weights by less than a quantisation step, so rounding can land them back on the target's grid
 * points and restore what was forgotten.
 *
 * The scheme is the usual GPTQ-free baseline, round-to-nearest (RTN) weight-only quantisation:
 * symmetric, per output channel (optionally per group of `groupSize` input rows), absmax scale
 *   s = max_i |w_i| / q_max,  q_max = 2^(bits−1) − 1  (127 for 8 bits, 7 for 4 bits),
 *   w' = s · clamp(round(w / s), −q_max, q_max),
 * rounding half away from zero (so w' of −w is −w'); the grid's most negative code (−128, −8) is
 * unused, as in symmetric absmax schemes. The result is a new Model holding the dequantised
 * float32 values. Only the linear layers of the blocks are quantised; embeddings, norms, biases
 * and an untied lm_head stay in full precision, as bitsandbytes and GPTQ leave them.
 */
import type { HostTensor } from '../engine/dtype.ts';
import { LetheError } from '../engine/errors.ts';
import { headModule, linearModules } from '../models/hf-layout.ts';
import { mergeLora } from '../models/lora.ts';
import { Model } from '../models/model.ts';
import { recoveredFraction, mean, type AttackOutcome } from './attack-outcome.ts';
import { standardProbes } from './attack-context.ts';
import { forgetScores, type Probe } from './probe.ts';

export interface QuantizeOptions {
  bits: number;
  /** Input rows per scale; default null: one scale per whole output channel. */
  groupSize?: number | null;
  /** Which parameters to quantise; default the blocks' linear weights. */
  include?: (name: string) => boolean;
}

/** The blocks' linear weights (every linear layer but an untied output head: `lm_head`, GPT-NeoX's `embed_out`; hf-layout.ts headModule). */
export function blockLinearWeights(model: Model): Set<string> {
  const head = headModule(model.config);
  return new Set(linearModules(model.config).filter((m) => m.module !== head).map((m) => `${m.module}.weight`));
}

/**
 * RTN-quantises a weight in the engine's layout [in, out] (output channel = column): the
 * dequantised values and one scale per (group, column), scales[g·out + j].
 */
export function quantizeWeight(w: HostTensor, bits: number, groupSize: number | null = null): { values: Float32Array; scales: Float64Array } {
  if (!(Number.isInteger(bits) && bits >= 2 && bits <= 16)) throw new LetheError(`quantize: bits must be an integer from 2 to 16, got ${bits}`);
  if (w.shape.length !== 2) throw new LetheError(`quantize: expected a 2-D weight [in, out], got shape [${w.shape}]`);
  const [rows, cols] = w.shape;
  const g = groupSize ?? rows;
  if (!(Number.isInteger(g) && g >= 1)) throw new LetheError(`quantize: groupSize must be a positive integer, got ${groupSize}`);
  const qmax = 2 ** (bits - 1) - 1;
  const src = w.data as Float32Array;
  const values = new Float32Array(src.length);
  const groups = Math.ceil(rows / g);
  const scales = new Float64Array(groups * cols);
  for (let gi = 0; gi < groups; gi++) {
    const [r0, r1] = [gi * g, Math.min(rows, (gi + 1) * g)];
    for (let j = 0; j < cols; j++) {
      let absmax = 0;
      for (let r = r0; r < r1; r++) absmax = Math.max(absmax, Math.abs(src[r * cols + j]));
      const s = absmax / qmax;
      scales[gi * cols + j] = s;
      if (s === 0) continue; // an all-zero channel stays zero
      for (let r = r0; r < r1; r++) {
        const x = src[r * cols + j] / s;
        const q = Math.min(qmax, Math.max(-qmax, Math.sign(x) * Math.round(Math.abs(x))));
        values[r * cols + j] = q * s;
      }
    }
  }
  return { values, scales };
}

/** A new Model whose selected weights are RTN-quantised and dequantised; the input is untouched (LoRA adapters are merged first). */
export function quantizeModel(input: Model, options: QuantizeOptions): Model {
  const model = mergeLora(input);
  const selected = blockLinearWeights(model);
  const include = options.include ?? ((name: string) => selected.has(name));
  const params = new Map<string, HostTensor>();
  for (const [name, t] of model.params) {
    params.set(name, include(name) ? { dtype: 'float32', shape: [...t.shape], data: quantizeWeight(t, options.bits, options.groupSize ?? null).values } : t);
  }
  return new Model(model.config, params, null, model.source);
}

export interface QuantizeAttackOptions {
  /** Bit widths, each its own outcome `quantize_<bits>bit`. Default [8, 4]. */
  bits?: number[];
  groupSize?: number | null;
}

export async function quantizeAttack(base: Probe, options: QuantizeAttackOptions = {}): Promise<AttackOutcome[]> {
  const ctx = base.ctx;
  const target = ctx.targetForgetProbs ?? null;
  const retainProbes = standardProbes(ctx.template, ctx.retainSet);
  const b = forgetScores(await base.standard());
  if (retainProbes.length > 0) b.retainProb = forgetScores(await base.measure(retainProbes, { rouge: false })).forgetProb;
  const outcomes: AttackOutcome[] = [];
  for (const bits of options.bits ?? [8, 4]) {
    const model = quantizeModel(base.subject.model, { bits, groupSize: options.groupSize });
    const attacked = base.withModel(model);
    try {
      const after = forgetScores(await attacked.standard());
      if (retainProbes.length > 0) after.retainProb = forgetScores(await attacked.measure(retainProbes, { rouge: false })).forgetProb;
      outcomes.push({
        name: `quantize_${bits}bit`,
        before: { ...b },
        after,
        recovered: target ? recoveredFraction(b.forgetProb, after.forgetProb, mean(target)) : null,
        details: { bits, scheme: 'rtn-symmetric-absmax', granularity: options.groupSize ? `group of ${options.groupSize} input rows` : 'per output channel', quantized: 'block linear weights' },
      });
    } finally {
      await attacked.dispose();
    }
  }
  return outcomes;
}
