// The TOFU case `lethe demo` builds: a few authors, one of them to forget (20 items, the size of
// TOFU's forget01), small enough that a model trained from scratch learns it in a minute or two
// on a 2-core CPU, and complete enough that every TOFU metric means something.
//
// Why one author (issue 12): with two (40 items) no method reached forget quality ≥ 0.05 at 80%
// of the target's utility in a full run (GradDiff 0.27 at 29%, CE-U 0.007 at 80%), and a verdict
// on one seed flipped on another machine. With one, CE-U passes on the quick case for --seed 1, 2
// and 3 (the README gives the runs). Twenty items also make the KS test weaker: forget quality
// ≥ 0.05 is easier to reach than on forget05/forget10, as it is in TOFU's own forget01 results.
//
// What the case adds to TOFU's own sets, and why: TOFU's model utility is the harmonic mean of
// Prob, ROUGE and truth ratio on the retain authors, real authors and world facts. A real
// language model knows the real authors and world facts from pretraining; a model trained from
// scratch on fictitious authors knows none of them, its ROUGE there is 0 and so is every model
// utility. So the case's "pretraining" is those question/answer items: target and retain models
// both train on them (as both TOFU models start from the same pretrained model), and forgetting
// a fictitious author must keep them.

import { plainTemplate, templatePairs, type PromptPair, type PromptTemplate } from '../../data/templates.ts';
import type { QaItem } from '../../data/qa-dataset.ts';
import { loadTofuIdk, type TofuSubset } from '../../data/tofu.ts';
import { Rng } from '../../engine/random.ts';
import type { LlamaConfig } from '../../models/formats/model-config.ts';
import type { TofuSets } from '../../eval/tofu-benchmark.ts';
import { DEFAULT_FORGET_SPLIT } from '../data-sources.ts';
import { tofuSets } from '../eval-tofu.ts';

/** What the target and retain models are made from; stored beside them, they are reused only when it is unchanged. */
export interface DemoCase {
  /** Model preset trained from scratch (src/models/presets.ts) … */
  preset: 'tiny' | 'small';
  /** … with these dimensions changed (a size between the presets). */
  shape?: Partial<Pick<LlamaConfig, 'hiddenSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim' | 'intermediateSize'>>;
  /** TOFU authors in the case … */
  authors: number;
  /** … of which these are forgotten (forget10's first ones); the rest are retain authors 0, 1, …. */
  forgetAuthors: number;
  /** Real-author and world-fact items (each set's first ones) both models learn and utility measures. */
  worldItems: number;
  /** The byte-level BPE tokenizer trained on the case's text. */
  vocabSize: number;
  /** Context: room for the longest prompt an attack or the guardrail builds. */
  maxPositions: number;
  /** Training from scratch: AdamW (no weight decay), linear warm-up, cosine decay. */
  training: { epochs: number; lr: number; batchSize: number; warmupSteps: number; seed: number };
}

/** What is measured; changing it never retrains the models. */
export interface DemoEvalSettings {
  /** Greedy tokens per answer for ROUGE (TOFU: 200; the case's answers are shorter). */
  maxNewTokens: number;
  batchSize: number;
  /** The prompt attacks (src/attacks/prompts): paraphrase and jailbreak templates. */
  promptAttacks: string[];
}

export interface DemoPlan {
  case: DemoCase;
  eval: DemoEvalSettings;
  /** The demo methods run (names in demo-methods.ts); all of them when absent. */
  methods?: readonly string[];
}

/**
 * The case both plans share, chosen by measurement (issue 12): with one forget author of five,
 * 30 + 30 world items and a 277k-parameter model, the headline held for --seed 1, 2 and 3 (CE-U
 * forgot and kept 95–99.5% of the target's utility in each), while a larger case (ten authors,
 * 100 + 100 world items, 685k parameters, one forget author) failed it for --seed 1 and 2 (CE-U
 * 0.034 and 0.012 at 97–99.7% utility; more CE-U epochs did not help). One case for both plans
 * also means `lethe demo --quick` after `lethe demo` (or the reverse) reuses the trained models.
 */
const DEMO_CASE: DemoCase = {
  preset: 'tiny',
  shape: { hiddenSize: 96, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 24, intermediateSize: 256 },
  authors: 5,
  forgetAuthors: 1,
  worldItems: 30,
  vocabSize: 768,
  maxPositions: 512,
  training: { epochs: 30, lr: 5e-3, batchSize: 8, warmupSteps: 20, seed: 1 },
};

/** Every method and every prompt attack. */
export const FULL_PLAN: DemoPlan = {
  case: DEMO_CASE,
  eval: { maxNewTokens: 48, batchSize: 16, promptAttacks: ['paraphrase', 'ignore-instructions', 'developer-mode', 'role-play'] },
};

/**
 * The same case and measurements for a first look in a few minutes: four methods (the collapse
 * of plain gradient ascent, GradDiff and NPO as the common baselines, CE-U) and two prompt attacks.
 */
export const QUICK_PLAN: DemoPlan = {
  case: DEMO_CASE,
  eval: { maxNewTokens: 48, batchSize: 16, promptAttacks: ['paraphrase', 'role-play'] },
  methods: ['ga', 'graddiff', 'npo', 'ce-u'],
};

export interface DemoData {
  template: PromptTemplate;
  subset: TofuSubset;
  /** The evaluation sets: forget, retain, real authors, world facts, holdout (the next forget10 authors). */
  sets: TofuSets;
  /** What lethe eval records about the sets (authors, holdout authors, item counts). */
  info: Record<string, unknown>;
  /** Training sets of the two models, shuffled once (batches mix authors). */
  targetPairs: PromptPair[];
  retainPairs: PromptPair[];
  /** Unlearning: the forget authors and the retain authors. */
  forget: PromptPair[];
  retain: PromptPair[];
  /** IdkDPO's refusals (TOFU's idk list). */
  idk: string[];
}

/** Shuffled once, so that batches mix authors and world facts (the loop shuffles the batches each epoch). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  return new Rng(seed).permutation(items.length).map((i) => items[i]);
}

export function demoData(c: DemoCase): DemoData {
  const template = plainTemplate();
  const { sets, info, subset } = tofuSets({ forgetSplit: DEFAULT_FORGET_SPLIT, tofuAuthors: c.authors, forgetAuthors: c.forgetAuthors });
  if (!subset) throw new Error('demo case: TOFU sets without an author subset'); // tofuAuthors is given
  sets.realAuthors = sets.realAuthors?.slice(0, c.worldItems);
  sets.worldFacts = sets.worldFacts?.slice(0, c.worldItems);
  info.items = { ...(info.items as object), realAuthors: sets.realAuthors?.length ?? 0, worldFacts: sets.worldFacts?.length ?? 0 };
  const world: QaItem[] = [...(sets.realAuthors ?? []), ...(sets.worldFacts ?? [])];
  const forget = templatePairs(template, subset.forgetSet);
  const retain = templatePairs(template, subset.retainSet);
  const known = templatePairs(template, world);
  return {
    template,
    subset,
    sets,
    info,
    targetPairs: shuffled([...retain, ...forget, ...known], c.training.seed),
    retainPairs: shuffled([...retain, ...known], c.training.seed),
    forget,
    retain,
    idk: loadTofuIdk(),
  };
}
