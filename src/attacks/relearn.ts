/**
 * Relearning attack (REFERENCE.md, robustness attacks; Hu et al. 2024, "Jogging the memory of
 * unlearned LLMs through targeted relearning attacks"; Lynch et al. 2024): fine-tune the
 * unlearned model on a small part of the forget set for a few steps, then measure forget Prob on
 * the WHOLE forget set, and apart on the relearned items and the held-out rest. Knowledge that
 * returns on held-out items was hidden, not removed. With `data: 'retain'` (or given pairs) it
 * relearns on related but different data instead, and every forget item is held out.
 *
 * Defaults and where they come from:
 * - fraction 0.1 of D_f, at least 2 items (the literature: "10% of it, or a few dozen samples"),
 *   chosen by a seeded shuffle, always leaving at least one item held out;
 * - 30 optimiser steps (the literature uses 15–100), AdamW without weight decay, batch 8;
 * - lr = 1e-5 · √(4096 / hiddenSize): 1e-5 is the published rate for 7B models (hidden size 4096);
 *   small models need larger rates. The square-root scale is chosen between none and μP's
 *   1/width rule for Adam: on the tiny preset (width 64) the 1/width rate (6.4e-4) over-fits the
 *   two relearned items within 20 steps (held-out Prob falls again, retain Prob halves), while
 *   the √ rate (8e-5) recovers steadily from 10 to 50 steps.
 * Steps are rounded up to whole passes over the relearning set (`details.steps` is the count run).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../engine/errors.ts';
import type { PromptPair } from '../data/templates.ts';
import { finetune } from '../unlearn/finetune.ts';
import type { ModelConfig } from '../models/formats/model-config.ts';
import { mergeLora } from '../models/lora.ts';
import { mean, meanAt, recoveredFraction, type AttackOutcome } from './attack-outcome.ts';
import { chooseIndices, standardProbes } from './attack-context.ts';
import { forgetScores, type Probe } from './probe.ts';

export interface RelearnOptions {
  /** What to relearn on: a part of the forget set, as many retain items (related data), or given pairs. Default 'forget'. */
  data?: 'forget' | 'retain' | { name: string; pairs: PromptPair[] };
  /** Fraction of the forget set relearned (also sizes the 'retain' sample). Default 0.1. */
  fraction?: number;
  /** At least this many items. Default 2. */
  minSamples?: number;
  /** Optimiser steps. Default 30. */
  steps?: number;
  /** Learning rate. Default relearnLr(config). */
  lr?: number;
  batchSize?: number;
  seed?: number;
  /** Where the fine-tuning run writes its log; default a temporary folder, removed afterwards. */
  runDir?: string;
}

export const RELEARN_DEFAULTS = { fraction: 0.1, minSamples: 2, steps: 30, batchSize: 8 } as const;

/** 1e-5 (7B models, hidden size 4096) scaled by √(4096 / hiddenSize). */
export function relearnLr(config: Pick<ModelConfig, 'hiddenSize'>): number {
  return 1e-5 * Math.sqrt(4096 / config.hiddenSize);
}

export async function relearnAttack(base: Probe, options: RelearnOptions = {}): Promise<AttackOutcome> {
  const ctx = base.ctx;
  const o = {
    fraction: options.fraction ?? RELEARN_DEFAULTS.fraction,
    minSamples: options.minSamples ?? RELEARN_DEFAULTS.minSamples,
    steps: options.steps ?? RELEARN_DEFAULTS.steps,
    batchSize: options.batchSize ?? RELEARN_DEFAULTS.batchSize,
  };
  const seed = options.seed ?? ctx.seed ?? 0;
  const data = options.data ?? 'forget';
  const n = ctx.forgetSet.length;
  if (!(o.fraction > 0 && o.fraction <= 1)) throw new LetheError(`relearn: fraction must be in (0, 1], got ${o.fraction}`);
  if (!(Number.isInteger(o.steps) && o.steps >= 1)) throw new LetheError(`relearn: steps must be a positive integer, got ${o.steps}`);
  const count = Math.max(o.minSamples, Math.round(o.fraction * n));
  let relearned: number[] = [];
  let pairs: PromptPair[];
  let name: string;
  if (data === 'forget') {
    if (n < 2) throw new LetheError('relearn: the forget set needs at least 2 items (some relearned, some held out)');
    relearned = chooseIndices(n, Math.min(count, n - 1), seed);
    pairs = relearned.map((i) => ctx.template.pair(ctx.forgetSet[i].question, ctx.forgetSet[i].answer));
    name = 'relearn';
  } else if (data === 'retain') {
    if (ctx.retainSet.length === 0) throw new LetheError('relearn on retain data: the retain set is empty');
    pairs = chooseIndices(ctx.retainSet.length, Math.min(count, ctx.retainSet.length), seed).map((i) => ctx.template.pair(ctx.retainSet[i].question, ctx.retainSet[i].answer));
    name = 'relearn_retain';
  } else {
    if (data.pairs.length === 0) throw new LetheError(`relearn on "${data.name}": no items`);
    pairs = data.pairs;
    name = `relearn_${data.name}`;
  }
  const heldOut = Array.from({ length: n }, (_, i) => i).filter((i) => !relearned.includes(i));

  const model = base.subject.model;
  const lr = options.lr ?? relearnLr(model.config);
  const batchSize = Math.min(o.batchSize, pairs.length);
  const epochs = Math.ceil(o.steps / Math.ceil(pairs.length / batchSize));
  const runDir = options.runDir ?? (await mkdtemp(join(tmpdir(), 'lethe-relearn-')));
  let run;
  try {
    // The attacker fine-tunes the model's weights: a LoRA result's adapters merged first, as the
    // quantisation attack does (training the base and the adapters side by side relearns faster).
    run = await finetune(mergeLora(model), ctx.tokenizer, {
      data: pairs, template: ctx.template, lr, optimizer: { kind: 'adamw', weightDecay: 0 },
      epochs, batchSize, seed, runDir, contextLength: ctx.contextLength,
    });
  } finally {
    if (options.runDir === undefined) await rm(runDir, { recursive: true, force: true });
  }

  const probes = standardProbes(ctx.template, ctx.forgetSet);
  const retainProbes = standardProbes(ctx.template, ctx.retainSet);
  const attacked = base.withModel(run.model);
  try {
    const [b, a] = [await base.standard(), await attacked.measure(probes)];
    const before = forgetScores(b);
    const after = forgetScores(a);
    if (retainProbes.length > 0) {
      before.retainProb = forgetScores(await base.measure(retainProbes, { rouge: false })).forgetProb;
      after.retainProb = forgetScores(await attacked.measure(retainProbes, { rouge: false })).forgetProb;
    }
    const target = ctx.targetForgetProbs ?? null;
    if (target && target.length !== n) throw new LetheError(`relearn: ${target.length} target forget probabilities for ${n} forget items`);
    const details: Record<string, unknown> = {
      data: typeof data === 'string' ? data : data.name,
      samples: pairs.length, steps: run.loop.steps, lr, batchSize, seed, stopped: run.loop.stopped,
    };
    if (data === 'forget') {
      before.heldOutForgetProb = meanAt(b.prob, heldOut);
      after.heldOutForgetProb = meanAt(a.prob, heldOut);
      before.relearnedForgetProb = meanAt(b.prob, relearned);
      after.relearnedForgetProb = meanAt(a.prob, relearned);
      details.relearnedItems = relearned;
      details.heldOutRecovered = target ? recoveredFraction(before.heldOutForgetProb, after.heldOutForgetProb, meanAt(target, heldOut)) : null;
    }
    const recovered = target ? recoveredFraction(before.forgetProb, after.forgetProb, mean(target)) : null;
    return { name, before, after, recovered, details };
  } finally {
    await attacked.dispose();
  }
}
