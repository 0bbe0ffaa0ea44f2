// An estimate of a training run's peak resident memory, made before the run starts, so a run
// that cannot fit is refused with the estimate instead of being killed by the kernel hours in.
//
//   peak ≈ base + weights + optimiser state + max(gradients + activations, step outputs' copies)
//   activations = passes × B × T × (layers × per-layer + logits)
//
// - base: Node, ONNX Runtime and the compiled programs (measured, BASE_BYTES);
// - weights: every parameter at the dtype it is held in (bfloat16/float16 frozen weights 2 bytes,
//   float32 4), read from the model itself; a trained parameter twice: the input's copy (never
//   written) and the train step's float32 one, updated in place;
// - optimiser state: the optimiser's slots per trained value (AdamW: 2 moments), float32 or, with
//   --optimizer-state bf16, bfloat16;
// - within a step, one gradient per trained value and the activations; at its end, instead,
//   onnxruntime-node's copy of every output (the updated parameters and slots: its binding
//   returns a copy of each output, also of those written in place; engine/program.ts);
// - activations kept for the backward pass, per token and differentiated forward pass (NPO with
//   a retain term: 2): per layer ACT_HIDDEN·C + ACT_INTER·I + ACT_SCORES·heads·T float32 values
//   (projections, norms, MLP, attention scores and probabilities; ACT_INTER_FROZEN·I when the
//   layers' weights are frozen, as under LoRA: no weight gradients to form), ACT_LOGITS·V for the
//   logits over the vocabulary (logits, log-softmax, its gradient) and ACT_TOKEN per token whatever
//   the model (embedding rows, masks, losses, ONNX Runtime's per-token buffers). With gradient
//   checkpointing, each layer's input (C) and one layer's activations; for a method whose loss
//   reads only log p(label), one slice of the head's logits instead of V (nn/head.ts).
// The constants are a non-negative least-squares fit (ACT_HIDDEN fixed) of the measured peaks
// (VmHWM) of 22 real NPO runs with a retain term in the process `lethe` runs in (bin/lethe.js:
// MALLOC_MMAP_THRESHOLD_ fixed): full parameters and LoRA, the tiny and small presets,
// vocabularies 256–32000, B·T 64–4096; every fitted peak within 10% of the measured one (a process
// without the malloc setting peaks up to 25% higher). Since in-place parameters, the output
// copies and checkpointing's ordering, measured against it: the tiny-preset shapes of
// test/unlearn/memory-estimate.test.ts 0.93 and 1.02; NPO + retain, 4 × 128, the SmolLM2-360M
// shape in full 1.04 (0.97 with checkpointing, 0.87 at 8 layers), the Llama-3.2-1B shape with
// LoRA r 8 0.92 with checkpointing (0.89 at 4 layers, 0.89 without). Since a sliced head's
// gradient is no longer padded per slice: the 360M shape in full 1.05 (9881 against 9454 MiB;
// the estimate puts the peak within the step, the run at its end) and 0.97 with checkpointing.
// With bfloat16 optimiser state and the passes' gradients summed early: the 360M shape 1.11
// (8505 against 7662 MiB) and 0.96 with checkpointing (6445 against 6722).

import { LetheError } from '../engine/errors.ts';
import type { ModelConfig } from '../models/formats/model-config.ts';
import { HEAD_SLICE_BYTES } from '../models/forward.ts';
import { applyLora } from '../models/lora.ts';
import type { Model } from '../models/model.ts';
import type { RunPlan } from './run-plan.ts';
import { patternNames, type ScopeOptions } from './scope.ts';

/** Node + ONNX Runtime + lethe's modules and the step programs (fitted: 152 MiB). */
export const BASE_BYTES = 152 * 2 ** 20;
/**
 * What the fitted runs' processes held before their run, besides the model (105 MiB): a process
 * that holds more (the command's modules, tokenizer, data sets) adds the difference to the base.
 */
const RESIDENT_AT_FIT = 105 * 2 ** 20;
const ACT_TOKEN = 59;
const ACT_HIDDEN = 10;
const ACT_INTER = 5.7;
const ACT_INTER_FROZEN = 3.7;
const ACT_SCORES = 0.96;
const ACT_LOGITS = 2.72;

export interface MemoryEstimateInput {
  config: ModelConfig;
  /** Bytes of every parameter as held (frozen at their dtype; trained ones float32, plus the input's copy of them). */
  weightBytes: number;
  /** Number of trained values (LoRA: the adapters' A and B). */
  trainable: number;
  /** Optimiser slots per trained value (AdamW and Sophia 2, SGD with momentum 1, without 0). */
  optimizerSlots: number;
  /** Bytes per slot value: 4 (float32, default) or 2 (bfloat16 state). */
  stateBytes?: number;
  batchSize: number;
  /** Longest sequence of a batch (tokens). */
  seqLength: number;
  /** Forward passes differentiated in one step (forget; + retain; + idk). */
  passes: number;
  /** The layers' own weights are frozen (LoRA trains adapters beside them). */
  frozenLayers?: boolean;
  /** Activations recomputed per block in the backward pass: kept are each block's input and one block's activations. */
  gradientCheckpointing?: boolean;
  /** The loss reads the whole [B, T, V] logits (default true); false: one slice of the head at a time (nn/head.ts). */
  fullLogits?: boolean;
  /** The runtime part; default BASE_BYTES. */
  baseBytes?: number;
}

export interface MemoryEstimate {
  /** Estimated peak resident memory, bytes. */
  total: number;
  /** Where the peak is: within a step (gradients, activations), at its end (the outputs' copies), or already reached while loading. */
  peakAt: 'step' | 'outputs' | 'loading';
  parts: {
    base: number;
    weights: number;
    /** Optimiser slots and, within a step, the gradients. */
    trainingState: number;
    activations: number;
    /** The copies of the step's outputs at the end of a step (replacing gradients and activations). */
    stepOutputs: number;
  };
}

/** The estimate and its parts (bytes). */
export function estimateTrainingMemory(i: MemoryEstimateInput): MemoryEstimate {
  const c = i.config;
  const tokens = i.batchSize * i.seqLength;
  const perLayer = ACT_HIDDEN * c.hiddenSize + (i.frozenLayers ? ACT_INTER_FROZEN : ACT_INTER) * c.intermediateSize + ACT_SCORES * c.numHeads * i.seqLength;
  const blocks = i.gradientCheckpointing ? c.numLayers * c.hiddenSize + perLayer : c.numLayers * perLayer;
  const headSlice = Math.max(1, Math.floor(HEAD_SLICE_BYTES / (4 * c.hiddenSize)));
  const logits = i.fullLogits === false ? Math.min(c.vocabSize, headSlice) : c.vocabSize;
  const activations = 4 * i.passes * tokens * (ACT_TOKEN + blocks + ACT_LOGITS * logits);
  const slots = (i.stateBytes ?? 4) * i.trainable * i.optimizerSlots;
  const gradients = 4 * i.trainable;
  const stepOutputs = 4 * i.trainable + slots;
  const parts = { base: i.baseBytes ?? BASE_BYTES, weights: i.weightBytes, trainingState: slots + gradients, activations, stepOutputs };
  const peakAt = stepOutputs > gradients + activations ? 'outputs' : 'step';
  return { total: parts.base + parts.weights + slots + Math.max(gradients + activations, stepOutputs), parts, peakAt };
}

const GB = 2 ** 30;
// GiB (2^30 bytes), as --max-memory takes it: two decimals, more below 0.01 (a --max-memory of 0.001 is not "0.00 GiB").
const gb = (b: number) => `${b > 0 && b < 0.01 * GB ? Number((b / GB).toPrecision(2)) : (b / GB).toFixed(b < 10 * GB ? 2 : 1)} GiB`;

/**
 * "2.41 GiB (weights 1.20 GiB, training state 0.30 GiB, activations 0.65 GiB, runtime 0.15 GiB)", and
 * what sets the peak when it is not the step's activations: the copies of its outputs, or loading.
 */
export function describeEstimate(e: MemoryEstimate, total = gb(e.total)): string {
  const { base, weights, trainingState, activations, stepOutputs } = e.parts;
  const why = e.peakAt === 'outputs' ? `; the peak is at a step's end, where the copies of its outputs (${gb(stepOutputs)}) replace gradients and activations` : e.peakAt === 'loading' ? `; loading already peaked at ${total}` : '';
  return `${total} (weights ${gb(weights)}, training state ${gb(trainingState)}, activations ${gb(activations)}, runtime ${gb(base)}${why})`;
}

export { gb as formatGb };

/** Optimiser slots per trained value. */
export function optimizerSlots(optimizer: { kind: string; momentum?: number }): number {
  if (optimizer.kind === 'sgd') return (optimizer.momentum ?? 0) > 0 ? 1 : 0;
  return 2; // AdamW's two moments; Sophia's momentum and Hessian estimate
}

/** A process's memory: resident now, and its peak so far (bytes). */
export interface ProcessMemory {
  residentBytes: number;
  peakBytes: number;
}

/** This process's memory (Node's own figures: RSS and the peak RSS). */
export function processMemory(): ProcessMemory {
  return { residentBytes: process.memoryUsage().rss, peakBytes: process.resourceUsage().maxRSS * 1024 };
}

export interface RunShape {
  scope: ScopeOptions;
  optimizer: { kind: string; momentum?: number; stateDtype?: 'float32' | 'bfloat16' };
  batchSize: number;
  seqLength: number;
  /** Forward passes differentiated per step (see passesOf). */
  passes: number;
  gradientCheckpointing?: boolean;
  /** The method's loss reads the whole logits (MemoryEstimateInput.fullLogits); default true. */
  fullLogits?: boolean;
}

/**
 * The estimate for unlearning `model` (weights as held, e.g. BF16 frozen) with `shape`: trained
 * parameters counted as float32 (widened), LoRA adapters added to the weights. `proc`, this
 * process's memory when the model and data are loaded: what it holds beyond the model and the
 * fitted runs' processes raises the base, and its peak so far (loading) is a floor of the total.
 */
export function estimateRunMemory(model: Model, shape: RunShape, proc?: ProcessMemory): MemoryEstimate {
  const { scope } = shape;
  const adapted = scope.kind === 'lora' ? applyLora(model, { r: scope.r, alpha: scope.alpha, dropout: scope.dropout, targets: scope.targets }) : model;
  const trainNames = new Set(scope.kind === 'pattern' ? patternNames(adapted, scope.pattern) : adapted.trainableNames());
  let weightBytes = 0;
  let trainable = 0;
  for (const [name, t] of adapted.params) {
    const n = t.data.length;
    // A trained weight of the input: its copy as loaded (kept, never written) and the step's float32 one.
    weightBytes += trainNames.has(name) ? 4 * n + (model.params.has(name) ? t.data.byteLength : 0) : t.data.byteLength;
    if (trainNames.has(name)) trainable += n;
  }
  let held = 0;
  for (const t of model.params.values()) held += t.data.byteLength;
  const baseBytes = BASE_BYTES + Math.max(0, (proc?.residentBytes ?? 0) - held - RESIDENT_AT_FIT);
  const e = estimateTrainingMemory({
    config: model.config, weightBytes, trainable, optimizerSlots: optimizerSlots(shape.optimizer), stateBytes: shape.optimizer.stateDtype === 'bfloat16' ? 2 : 4, batchSize: shape.batchSize, seqLength: shape.seqLength, passes: shape.passes,
    frozenLayers: scope.kind === 'lora', gradientCheckpointing: shape.gradientCheckpointing, fullLogits: shape.fullLogits, baseBytes,
  });
  const loading = proc?.peakBytes ?? 0;
  return loading > e.total ? { ...e, total: loading, peakAt: 'loading' } : e;
}

/** Differentiated forward passes of a step of `plan`: the forget batch, the retain batch, the refusals. */
export function passesOf(plan: Pick<RunPlan, 'needsRetain' | 'needs'>): number {
  return 1 + (plan.needsRetain ? 1 : 0) + (plan.needs.has('idk') ? 1 : 0);
}

/**
 * Throws LetheError (exit 2, one line: the estimate, the memory available and what to change)
 * when `estimate` exceeds `available` bytes; `scope`, `gradientCheckpointing`, whether the
 * command offers LoRA (`lethe train` does not) and whether the run keeps float32 optimiser state
 * (`optimizerState`: --optimizer-state bf16 would halve it) decide which remedies are offered.
 */
export function checkMemoryFits(estimate: MemoryEstimate, available: { bytes: number; source: string }, scope: ScopeOptions, gradientCheckpointing = false, offers: { lora: boolean; optimizerState?: boolean } = { lora: true }): void {
  if (estimate.total <= available.bytes) return;
  // The limit with as many decimals as it takes to differ from the estimate ("0.203 GB … 0.200 GB", not "0.20 … 0.20").
  let digits = 2;
  while (digits < 6 && (estimate.total / GB).toFixed(digits) === (available.bytes / GB).toFixed(digits)) digits++;
  const limit = digits > 2 ? `${(available.bytes / GB).toFixed(digits)} GiB` : gb(available.bytes);
  const needs = describeEstimate(estimate, digits > 2 ? `${(estimate.total / GB).toFixed(digits)} GiB` : undefined);
  if (estimate.parts.base >= available.bytes) {
    // Nothing about the run would help: say how much to allow (rounded up to what the message shows).
    const enough = `${(Math.ceil((estimate.total / GB) * 10 ** digits) / 10 ** digits).toFixed(digits)} GiB`;
    const remedy = available.source === '--max-memory' ? `give --max-memory ${enough} or more` : 'free memory first (--max-memory GiB sets the limit)';
    throw new LetheError(`this run needs about ${needs} at peak; the runtime alone (Node, ONNX Runtime, the loaded data) is more than the ${limit} of ${available.source}: ${remedy}`);
  }
  const hints = ['a smaller --batch-size', ...(scope.kind !== 'lora' && offers.lora ? ['--scope lora'] : []), ...(gradientCheckpointing ? [] : ['--gradient-checkpointing']), ...(offers.optimizerState ? ['--optimizer-state bf16'] : []), 'a shorter --context-length'];
  throw new LetheError(
    `this run needs about ${needs} at peak, more than the ${limit} of ${available.source}; ` +
      `try ${hints.join(', ')} (--max-memory GiB sets the limit)`,
  );
}
