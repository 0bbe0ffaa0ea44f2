// What an attack runs against and with: the subject (a model, possibly wrapped by an input-based
// baseline), the data, and the target model's forget-set probabilities for `recovered`.
import { Rng } from '../engine/random.ts';
import type { QaItem } from '../data/qa-dataset.ts';
import type { PromptTemplate } from '../data/templates.ts';
import type { Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';

/**
 * An input-based baseline (REFERENCE.md): it changes no weight, only what goes into the model
 * and what comes out. A prompt transformer changes teacher-forced Prob and generations alike; an
 * output transformer only generations (the teacher-forced pass never sees an output).
 */
export interface Baseline {
  name: string;
  /** Rewrites a full prompt (after any prompt attack); `question` is the item's original question. */
  transformPrompt?(prompt: string, question: string): string;
  /** Rewrites a generation (e.g. replaces it by a refusal). */
  transformOutput?(generation: string): string;
  /** What it does, with its settings, for the results. */
  describe(): Record<string, unknown>;
}

/** What the attacks are run against: a model, alone or inside an input-based baseline. */
export interface Subject {
  model: Model;
  baseline?: Baseline | null;
}

export interface AttackContext {
  tokenizer: Tokenizer;
  template: PromptTemplate;
  /** D_f: the items whose answers should be forgotten (TOFU forgetXX_perturbed). */
  forgetSet: QaItem[];
  /** D_r: in-context examples, relearning on related data, and retain Prob (utility). */
  retainSet: QaItem[];
  /** Per-item forget Prob of the model before unlearning (the target); null: `recovered` is null. */
  targetForgetProbs?: number[] | null;
  /** Greedy generations for ROUGE-L recall (REFERENCE.md: up to 200 new tokens); null or absent: none. */
  generation?: { maxNewTokens?: number } | null;
  /** Scoring batch size (default 16) and context length (default the model's). */
  batchSize?: number;
  contextLength?: number;
  /** Seed of every random choice (relearning subset, in-context examples). Default 0. */
  seed?: number;
}

/** One teacher-forced text of an attack: the prompt the model sees, the answer scored, the item's own question. */
export interface ProbeItem {
  prompt: string;
  target: string;
  question: string;
}

/** The standard (unattacked) probes of `items`: the template's prompt and the true answer. */
export function standardProbes(template: PromptTemplate, items: readonly QaItem[]): ProbeItem[] {
  return items.map((i) => ({ ...template.pair(i.question, i.answer), question: i.question }));
}

/** A seeded choice of `count` of the indices 0..n−1, in increasing order. */
export function chooseIndices(n: number, count: number, seed: number): number[] {
  return new Rng(seed).permutation(n).slice(0, count).sort((a, b) => a - b);
}
