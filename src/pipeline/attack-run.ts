// Attack runs as `lethe attack` makes them: a model (or an input-based baseline wrapped around
// it) on a TOFU forget split or author subset, the chosen attacks (relearning, quantisation,
// prompt attacks), each scored before and after; the record the results schema calls `attacks`.

import { LetheError } from '../engine/errors.ts';
import { ATTACKS, attackResults, runAttacks } from '../attacks/run-attacks.ts';
import { guardrail, icul, outputFilter, tofuAuthorNames } from '../attacks/baselines.ts';
import type { AttackOutcome } from '../attacks/attack-outcome.ts';
import { Probe } from '../attacks/probe.ts';
import { loadTofuSplit, selectTofuAuthors } from '../data/tofu.ts';
import { z } from 'zod';
import { attackResultSchema, type Results } from '../results/schema.ts';
import { pickTemplate, type TemplateName } from './data-sources.ts';
import { openModel, type ModelSourceOptions } from './model-source.ts';
import { checkSets } from './set-overlap.ts';
import { qaSets } from './eval-tofu.ts';

export interface AttackRunOptions {
  /** The model to attack (a folder, a llama2.c .bin checkpoint or a Hub name org/name[@revision]); with a baseline, the model it wraps. */
  model: string;
  /** The tokenizer (file or folder) of `model` when it is not beside it. */
  tokenizer?: string;
  /** The model before unlearning (the same forms as `model`), for `recovered` (without it, recovered is null). */
  targetModel?: string;
  /** Names from ATTACKS: relearn, relearn-retain, quantize, prompts. */
  attacks: string[];
  forgetSplit: string;
  /** A user's TOFU-format QA files (JSON arrays or JSON Lines) instead of a TOFU split: both, together. */
  forgetQa?: string;
  retainQa?: string;
  tofuAuthors?: number;
  forgetAuthors?: number;
  template: TemplateName;
  baseline: 'none' | 'guardrail' | 'icul' | 'output-filter';
  guardrailTopics?: string[];
  relearnSteps?: number;
  relearnLr?: number;
  relearnFraction?: number;
  bits: number[];
  promptAttacks?: string[];
  /** Greedy tokens for ROUGE (0: no generation). */
  maxNewTokens: number;
  batchSize?: number;
  contextLength?: number;
  seed: number;
}

/**
 * Runs the attacks; `onResult` hears each as it finishes; `sources` says how Hub models are fetched. Returns the schema-checked attacks
 * record (name → before/after/recovered). Throws LetheError for an unknown attack name.
 */
export async function runAttackSuite(o: AttackRunOptions, onResult?: (r: AttackOutcome) => void, sources: ModelSourceOptions = {}): Promise<NonNullable<Results['attacks']>> {
  for (const n of o.attacks) if (!ATTACKS[n]) throw new LetheError(`--attacks: unknown attack "${n}" (known: ${Object.keys(ATTACKS).join(', ')})`);
  const { model, tokenizer } = await openModel(o.model, { ...sources, tokenizer: o.tokenizer });
  const template = pickTemplate(o.template, tokenizer);
  if ((o.forgetQa === undefined) !== (o.retainQa === undefined)) throw new LetheError('--forget-qa and --retain-qa go together (the forget and retain sets of the attacks)');
  const files = o.forgetQa !== undefined ? qaSets({ forgetQa: o.forgetQa, retainQa: o.retainQa! }).sets : null;
  const subset = !files && o.tofuAuthors !== undefined ? selectTofuAuthors({ authors: o.tofuAuthors, forget: o.forgetAuthors! }) : null;
  const forgetSet = files ? files.forget : subset ? subset.forgetSet : loadTofuSplit(`${o.forgetSplit}_perturbed`);
  const retainSet = files ? files.retain : subset ? subset.retainSet : loadTofuSplit('retain_perturbed');
  // The guardrail names the people of a user's file when its items name them (the `name` field).
  const named = [...new Set(forgetSet.map((i) => (i as { name?: string }).name).filter((n): n is string => n !== undefined))];
  // Relearning on the forget set and measuring the retain set: they must not share items (the shipped splits do not).
  checkSets([{ name: 'forget', items: forgetSet }, { name: 'retain', items: retainSet }]);
  const ctx = {
    tokenizer, template, forgetSet, retainSet, seed: o.seed, batchSize: o.batchSize, contextLength: o.contextLength,
    generation: o.maxNewTokens > 0 ? { maxNewTokens: o.maxNewTokens } : null,
  };
  let targetForgetProbs: number[] | null = null;
  if (o.targetModel !== undefined) {
    // Scored with the attacked model's tokenizer and items: the target is the same model before unlearning.
    const probe = new Probe({ model: (await openModel(o.targetModel, { ...sources, tokenizer: o.tokenizer })).model }, { ...ctx, generation: null });
    targetForgetProbs = (await probe.standard()).prob;
    await probe.dispose();
  }
  const baseline =
    o.baseline === 'guardrail' ? guardrail({ template, topics: o.guardrailTopics ?? (named.length > 0 ? named : tofuAuthorNames(forgetSet)) })
    : o.baseline === 'icul' ? icul({ template, forgetSet, retainSet, seed: o.seed })
    : o.baseline === 'output-filter' ? outputFilter({ forgetSet })
    : null;
  const outcomes = await runAttacks({ model, baseline }, { ...ctx, targetForgetProbs }, o.attacks, {
    relearn: { steps: o.relearnSteps, lr: o.relearnLr, fraction: o.relearnFraction },
    quantize: { bits: o.bits },
    prompts: { attacks: o.promptAttacks },
  }, onResult);
  // JSON has no NaN (a mean over no items): it becomes null, which the schema reads as "not measured".
  const record = JSON.parse(JSON.stringify(attackResults(outcomes))) as unknown;
  const checked = z.record(z.string(), attackResultSchema).safeParse(record);
  if (!checked.success) throw new Error(`lethe attack produced results outside the schema: ${checked.error.message}`);
  return checked.data as NonNullable<Results['attacks']>;
}
