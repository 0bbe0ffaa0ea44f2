// The capability case `lethe demo --case capability` builds: two made-up technical domains
// (data/capability: zorvex relays and quillan alloys, each a corpus of generated facts and
// 4-option questions about them, made by scripts/make-capability-data.mjs). A model trained from
// scratch on both corpora answers both domains' questions well above chance (25%); unlearning
// the relays corpus (retain: the alloys corpus) must bring relay accuracy toward chance and keep
// alloy accuracy; relearning on the relay sentences whose facts the reported questions do not
// ask (corpus-train-facts.txt) shows how much comes back.
//
// Scoring: lm-evaluation-harness's continuation style (the option texts as continuations of
// "Question: …\nAnswer:") without the task description: a model trained from scratch on the
// corpus never saw the letter layout or the description sentence (data/capability/README.md
// measures both).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readMultipleChoiceFile, type McItem } from '../../data/multiple-choice.ts';
import { readTextSet } from '../../data/qa-dataset.ts';
import { plainTemplate, textPairs, type PromptPair, type PromptTemplate } from '../../data/templates.ts';
import { Rng } from '../../engine/random.ts';
import { gradDiff } from '../../unlearn/methods/grad-diff.ts';
import { npo } from '../../unlearn/methods/npo.ts';
import { rmu } from '../../unlearn/methods/rmu.ts';
import type { DemoMethod } from './demo-methods.ts';
import type { ModelCase } from './demo-models.ts';

/** data/capability/ beside src/ (from src/pipeline/demo/ or the compiled dist/src/pipeline/demo/). */
export const CAPABILITY_DIR: string = fileURLToPath(
  [new URL('../../../data/capability/', import.meta.url), new URL('../../../../data/capability/', import.meta.url)]
    .find((dir) => existsSync(new URL('relays/corpus.txt', dir))) ?? new URL('../../../data/capability/', import.meta.url),
);

/** One unlearning run of the case, with settings for a small model trained from scratch (a demo method without a scope). */
export type CapabilityMethod = Omit<DemoMethod, 'scope'>;

/** What the two models are made from (stored as OUT/case.json; the models are reused only when it is unchanged). */
export interface CapabilityCase extends ModelCase {
  kind: 'capability';
  /** The domain unlearnt and the domain kept (folders of data/capability). */
  forgetDomain: string;
  retainDomain: string;
}

export interface CapabilityPlan {
  case: CapabilityCase;
  methods: readonly CapabilityMethod[];
  /**
   * Relearning on the forget domain's corpus-train-facts.txt: steps (rounded up to whole passes),
   * lr, batch. 29 steps of 8 are one pass over its 231 lines; lr 1e-3, a third of the training
   * rate: twice that makes the retain model lose much of what it knows of the other domain.
   */
  relearn: { steps: number; lr: number; batchSize: number };
  /** Unlearning batch size (forget and retain batches alike). */
  unlearnBatchSize: number;
  /** Scoring batch size. */
  evalBatchSize: number;
}

// Why these rates: the published ones (RMU 5e-5, NPO and GradDiff 1e-5) are for 7B models
// fine-tuned at about 1e-5; this model was trained from scratch at 3e-3 to 5e-3, and at the
// published rates nothing moves in a few epochs. RMU's α is 1 and c 20: its published α
// (100–1200) is calibrated for 7B activations whose norms are in the tens, and on this model α 10
// held relay accuracy at 41–47% where α 1 reaches 36% with the other domain kept. Tuned on the
// quick case's target (relay accuracy 62.7%, chance 25%): RMU lr 1e-2 × 4 epochs 36.0%, × 6 42.7%
// (α 10); GradDiff lr 2e-3 × 4 epochs 33.3% (5e-4 × 8: 36.0%, 1e-3 × 4: 40.0%); NPO lr 2e-3 × 6
// epochs 41.3% (1e-3 × 10: 34.7% in three times the time). Every method keeps the alloys within
// a few points or raises them (the retain term trains on them).
const METHODS: CapabilityMethod[] = [
  { name: 'rmu', method: rmu, summary: 'steer block-ℓ activations on forget text to a random direction, keep them on retain text', lr: 1e-2, epochs: 4, options: { alpha: 1, steeringCoef: 20 } },
  { name: 'npo', method: npo, summary: 'negative preference optimisation against the target, retain NLL', lr: 2e-3, epochs: 6 },
  { name: 'graddiff', method: gradDiff, summary: 'ascent on the forget corpus, descent on the retain corpus', lr: 2e-3, epochs: 4 },
];

export const CAPABILITY_FULL_PLAN: CapabilityPlan = {
  case: {
    kind: 'capability', forgetDomain: 'relays', retainDomain: 'alloys',
    preset: 'tiny',
    shape: { hiddenSize: 128, numLayers: 3, numHeads: 4, numKvHeads: 2, headDim: 32, intermediateSize: 352 },
    vocabSize: 1024,
    maxPositions: 128,
    training: { epochs: 12, lr: 3e-3, batchSize: 8, warmupSteps: 20, seed: 1 },
  },
  methods: METHODS,
  relearn: { steps: 29, lr: 1e-3, batchSize: 8 },
  unlearnBatchSize: 8,
  evalBatchSize: 32,
};

/** The full plan on a smaller model trained for fewer epochs: the same data, methods and measurements. */
export const CAPABILITY_QUICK_PLAN: CapabilityPlan = {
  ...CAPABILITY_FULL_PLAN,
  case: {
    ...CAPABILITY_FULL_PLAN.case,
    shape: { hiddenSize: 96, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 24, intermediateSize: 256 },
    vocabSize: 768,
    training: { ...CAPABILITY_FULL_PLAN.case.training, epochs: 10, lr: 5e-3 },
  },
};

/** One domain's files. */
export interface Domain {
  name: string;
  /** corpus.txt: one document a line. */
  corpus: string[];
  /** corpus-train-facts.txt: the corpus lines whose facts are all in mc-train (none in mc-eval). */
  trainFacts: string[];
  /** The reported questions (mc-eval.jsonl). */
  eval: McItem[];
  /** Where each file is, relative to the package (for results and the report). */
  files: { corpus: string; trainFacts: string; eval: string };
}

export interface CapabilityData {
  template: PromptTemplate;
  forget: Domain;
  retain: Domain;
  /** Training sets of the target (both corpora) and the retain model (the retain domain only), shuffled once. */
  targetPairs: PromptPair[];
  retainPairs: PromptPair[];
  describe: { target: string; retain: string };
}

function readDomain(dir: string, name: string): Domain {
  const path = (f: string) => `${dir}${name}/${f}`;
  return {
    name,
    corpus: readTextSet(path('corpus.txt')),
    trainFacts: readTextSet(path('corpus-train-facts.txt')),
    eval: readMultipleChoiceFile(path('mc-eval.jsonl')),
    files: { corpus: `data/capability/${name}/corpus.txt`, trainFacts: `data/capability/${name}/corpus-train-facts.txt`, eval: `data/capability/${name}/mc-eval.jsonl` },
  };
}

/** Documents as training pairs (empty prompt, the whole line as target), shuffled once with `seed`. */
export function documentPairs(texts: readonly string[], file: string, seed: number): PromptPair[] {
  const pairs = textPairs(texts.map((text, i) => ({ text, source: { file, line: i + 1 } })));
  return Array.from(new Rng(seed).permutation(pairs.length), (i) => pairs[i]);
}

/** Reads the case's two domains from data/capability (or `dir`). */
export function capabilityData(c: CapabilityCase, dir: string = CAPABILITY_DIR): CapabilityData {
  const forget = readDomain(dir, c.forgetDomain);
  const retain = readDomain(dir, c.retainDomain);
  const seed = c.training.seed;
  const both = [...forget.corpus.map((text, i) => ({ text, source: { file: forget.files.corpus, line: i + 1 } })), ...retain.corpus.map((text, i) => ({ text, source: { file: retain.files.corpus, line: i + 1 } }))];
  const all = textPairs(both);
  return {
    template: plainTemplate(),
    forget,
    retain,
    targetPairs: Array.from(new Rng(seed).permutation(all.length), (i) => all[i]),
    retainPairs: documentPairs(retain.corpus, retain.files.corpus, seed),
    describe: { target: `both corpora (${forget.name} and ${retain.name})`, retain: `the ${retain.name} corpus only (never sees the ${forget.name})` },
  };
}
