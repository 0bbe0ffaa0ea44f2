/**
 * Relearning attack measured by multiple-choice accuracy, for capability unlearning (WMDP-style
 * forget corpora and question sets): fine-tune the unlearned model on relearning text, e.g. the
 * part of the forget corpus that states none of the facts the reported questions ask about
 * (data/capability/<domain>/corpus-train-facts.txt), then score forget-side and retain-side
 * accuracy before and after the lm-evaluation-harness way (src/eval/multiple-choice). Accuracy
 * that returns on questions whose facts were never relearned was hidden, not removed (Lynch et
 * al. 2024, "Eight methods to evaluate robust unlearning in LLMs"; Deeb & Roger 2024, "Do
 * unlearning methods remove information from language model weights?", which relearns on
 * facts disjoint from the evaluated ones for exactly this reason).
 *
 * Scores (results schema `attacks` entry): forgetAcc, forgetAccNorm, retainAcc, retainAccNorm,
 * each side's chance, before and after; `recovered` = (after − before) / (target − before) on
 * forgetAcc (attack-outcome.ts recoveredFraction), target the model before unlearning.
 * `details.intervals` holds each accuracy's 95% percentile bootstrap interval over items before
 * and after, and `details.forgetAccGain` the paired interval of after − before (the same items
 * resampled together).
 *
 * Defaults as the QA relearning attack (relearn.ts): 30 optimiser steps rounded up to whole
 * passes, batch 8, AdamW without weight decay, lr relearnLr(config).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../engine/errors.ts';
import type { McItem } from '../data/multiple-choice.ts';
import { textPairs, type PromptPair, type PromptTemplate } from '../data/templates.ts';
import { evaluateMultipleChoice, multipleChoiceScorer, type McEvalOptions, type McSetResult } from '../eval/multiple-choice/score-mc.ts';
import { isInterval, meanInterval } from '../eval/stats/bootstrap.ts';
import type { Model } from '../models/model.ts';
import { mergeLora } from '../models/lora.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { finetune } from '../unlearn/finetune.ts';
import { recoveredFraction } from './attack-outcome.ts';
import { RELEARN_DEFAULTS, relearnLr } from './relearn.ts';

export interface McRelearnOptions {
  tokenizer: Tokenizer;
  /** The template relearning trains through (texts: empty prompt, the document as target). */
  template: PromptTemplate;
  /** What is relearned: documents (one per training item) … */
  texts?: readonly string[];
  /** … or prompt/target pairs. */
  pairs?: readonly PromptPair[];
  /** The relearning set's name (its file), recorded in details. */
  dataName: string;
  /** The questions whose accuracy must stay low (the forget side) and those that must stay (retain side, may be empty). */
  forget: readonly McItem[];
  retain: readonly McItem[];
  /** How items are scored (prompt style, description, shots); the same before and after. */
  scoring?: McEvalOptions;
  /** Scoring batch size and context length. */
  scoreBatchSize?: number;
  contextLength?: number;
  /** Optimiser steps (rounded up to whole passes). Default 30. */
  steps?: number;
  /** Default relearnLr(model.config). */
  lr?: number;
  /** Training batch size. Default 8. */
  batchSize?: number;
  seed?: number;
  /** The forget-side accuracy (acc) of the model before unlearning, for `recovered`; null: recovered is null. */
  targetForgetAcc?: number | null;
  /** Where the fine-tuning writes its log; default a temporary folder, removed afterwards. */
  runDir?: string;
}

/** An attack outcome in the results schema's `attacks` shape (accuracy scores instead of forget Prob). */
export interface McAttackOutcome {
  name: string;
  before: Record<string, number | null>;
  after: Record<string, number | null>;
  recovered: number | null;
  details: Record<string, unknown>;
}

/** The scores of one measurement (acc, acc_norm and chance per side; null for an empty side). */
export interface McAttackScores {
  forget: McSetResult;
  retain: McSetResult | null;
}

const value = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? null : x);

function scores(s: McAttackScores): Record<string, number | null> {
  return {
    forgetAcc: value(s.forget.acc.value), forgetAccNorm: value(s.forget.accNorm.value), forgetChance: value(s.forget.chance),
    ...(s.retain ? { retainAcc: value(s.retain.acc.value), retainAccNorm: value(s.retain.accNorm.value), retainChance: value(s.retain.chance) } : {}),
  };
}

const bounds = (perItem: readonly number[]) => {
  const i = meanInterval(perItem);
  return isInterval(i) ? [i.lower, i.upper] : null;
};

/** Forget and retain MC accuracy of `model` (one Scorer per model state: a Scorer caches by text). */
export async function mcAccuracies(model: Model, o: Pick<McRelearnOptions, 'tokenizer' | 'forget' | 'retain' | 'scoring' | 'scoreBatchSize' | 'contextLength'>): Promise<McAttackScores> {
  const scorer = multipleChoiceScorer(model, o.tokenizer, { addBosToken: o.scoring?.addBosToken, batchSize: o.scoreBatchSize, contextLength: o.contextLength });
  try {
    const forget = await evaluateMultipleChoice(scorer, o.forget, 'forget', o.scoring);
    const retain = o.retain.length > 0 ? await evaluateMultipleChoice(scorer, o.retain, 'retain', o.scoring) : null;
    return { forget, retain };
  } finally {
    await scorer.dispose();
  }
}

/**
 * Relearns `model` (never modified: training works on a copy) on `o.texts` or `o.pairs` and
 * measures MC accuracy before and after. `before` may be given when it was already measured on
 * the same items with the same scoring. Throws LetheError for an empty relearning set or forget
 * side, or a bad step count.
 */
export async function relearnMcAttack(model: Model, o: McRelearnOptions, before?: McAttackScores): Promise<McAttackOutcome> {
  const pairs = o.pairs ? [...o.pairs] : textPairs((o.texts ?? []).map((text, i) => ({ text, source: { file: o.dataName, line: i + 1 } })));
  if (pairs.length === 0) throw new LetheError(`relearn: ${o.dataName}: no relearning documents`);
  if (o.forget.length === 0) throw new LetheError('relearn: no forget-side multiple-choice items to measure');
  const steps = o.steps ?? RELEARN_DEFAULTS.steps;
  if (!(Number.isInteger(steps) && steps >= 1)) throw new LetheError(`relearn: steps must be a positive integer, got ${steps}`);
  const seed = o.seed ?? 0;
  const lr = o.lr ?? relearnLr(model.config);
  const batchSize = Math.min(o.batchSize ?? RELEARN_DEFAULTS.batchSize, pairs.length);
  const epochs = Math.ceil(steps / Math.ceil(pairs.length / batchSize));
  const b = before ?? (await mcAccuracies(model, o));
  const runDir = o.runDir ?? (await mkdtemp(join(tmpdir(), 'lethe-relearn-mc-')));
  let run;
  try {
    // The model's weights, a LoRA result's adapters merged first (as relearn.ts).
    run = await finetune(mergeLora(model), o.tokenizer, {
      data: pairs, template: o.template, lr, optimizer: { kind: 'adamw', weightDecay: 0 },
      epochs, batchSize, seed, runDir, contextLength: o.contextLength,
    });
  } finally {
    if (o.runDir === undefined) await rm(runDir, { recursive: true, force: true });
  }
  const a = await mcAccuracies(run.model, o);
  const gain = meanInterval(b.forget.acc.perItem.map((x, i) => a.forget.acc.perItem[i] - x));
  const side = (s: McAttackScores) => ({
    forgetAcc: bounds(s.forget.acc.perItem), forgetAccNorm: bounds(s.forget.accNorm.perItem),
    ...(s.retain ? { retainAcc: bounds(s.retain.acc.perItem), retainAccNorm: bounds(s.retain.accNorm.perItem) } : {}),
  });
  return {
    name: 'relearn_mc',
    before: scores(b),
    after: scores(a),
    recovered: value(b.forget.acc.value) === null ? null : recoveredFraction(b.forget.acc.value!, a.forget.acc.value!, o.targetForgetAcc ?? null),
    details: {
      data: o.dataName, samples: pairs.length, steps: run.loop.steps, lr, batchSize, seed, stopped: run.loop.stopped,
      items: { forget: o.forget.length, retain: o.retain.length },
      intervals: { level: 0.95, before: side(b), after: side(a) },
      forgetAccGain: isInterval(gain) ? { value: value(a.forget.acc.value) !== null && value(b.forget.acc.value) !== null ? a.forget.acc.value! - b.forget.acc.value! : null, lower: gain.lower, upper: gain.upper } : { unavailable: gain.unavailable },
      perItem: { forgetAccBefore: b.forget.acc.perItem, forgetAccAfter: a.forget.acc.perItem },
    },
  };
}
