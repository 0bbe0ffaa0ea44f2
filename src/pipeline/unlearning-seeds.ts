// `lethe unlearn --seeds N`: the same unlearning repeated with seeds S, S+1, …, S+N−1 (batch
// order, IdkDPO's refusals, LoRA's initial adapters), each a complete run folder OUT/seed-K/
// (model/, log.jsonl, config.yaml, checkpoints/) that lethe eval, attack and report take as
// they take a single run, and OUT/seeds.json with every seed's final numbers and their mean ± sd
// and "passes in k of N". A single run's verdict can be the luck of one seed; this says how often
// it holds.

import { join } from 'node:path';
import { formatSeedSummary, passesInKOfN, summariseSeeds, type SeedSummary } from '../eval/stats/seeds.ts';
import { writeFileAtomic } from '../models/formats/write-file-atomic.ts';
import type { Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import type { Evaluation } from '../unlearn/loop.ts';
import { LETHE_VERSION } from '../version.ts';
import { lastLogLine } from './run-folder.ts';
import { writeResolvedConfig } from './run-config.ts';
import { mcProbeEvaluator, probeEvaluator, runUnlearning, type UnlearningRunOptions, type UnlearningRunResult } from './unlearning-run.ts';

/** The version of OUT/seeds.json. */
export const SEEDS_SCHEMA = 'lethe.seeds/1';
export const SEEDS_FILE = 'seeds.json';

/** Retain side kept: at least this share of the input model's probe value. */
export const SEEDS_RETAIN_SHARE = 0.8;

/** OUT/seed-K: the run folder of seed K. */
export const seedRunDir = (out: string, seed: number): string => join(out, `seed-${seed}`);

/** The seeds of a repeated run: first, first + 1, …, first + n − 1. */
export const seedList = (first: number, n: number): number[] => Array.from({ length: n }, (_, i) => first + i);

export interface SeedsRunOptions extends Omit<UnlearningRunOptions, 'runDir' | 'seed'> {
  /** The folder holding OUT/seed-K/ and OUT/seeds.json. */
  out: string;
  /** The first seed. */
  seed: number;
  /** How many seeds (≥ 1). */
  seeds: number;
  /** The resolved options of the whole run: each seed's config.yaml is these with its own seed and folder (and no `seeds`). */
  config?: Record<string, unknown>;
  /** Called after each seed with its outcome (progress lines). */
  onSeed?: (run: SeedRunRecord, result: UnlearningRunResult) => void;
}

/** One seed's line in seeds.json. */
export interface SeedRunRecord {
  seed: number;
  /** The run folder, relative to OUT. */
  runDir: string;
  steps: number;
  stopped: 'done' | 'diverged';
  /** The step whose weights OUT/seed-K/model holds when the best step's were kept, else null. */
  bestStep: number | null;
  /** The training loss of the last step (log.jsonl), null when not logged or not finite. */
  loss: number | null;
  /** The probe on the kept weights (forgetProb and retainProb, or the MC accuracies). */
  probe: Record<string, number>;
  /** The pass rule on this seed (see SeedsFile.rule). */
  pass: boolean;
  wallSeconds: number;
}

/** OUT/seeds.json, versioned `lethe.seeds/1`. */
export interface SeedsFile {
  schema: typeof SEEDS_SCHEMA;
  method: string;
  seeds: number[];
  /** What the probe measures: qa (answer probability) or mc (multiple-choice accuracy). */
  probe: 'qa' | 'mc';
  /** The probe items (forget, retain) each value is a mean over; MC: every item of the files. */
  probeItems: number | null;
  /** The pass rule, in words. */
  rule: string;
  /** The probe on the input model (the rule's reference). */
  input: Record<string, number>;
  runs: SeedRunRecord[];
  /** Per quantity (loss and each probe value): mean ± sd over the seeds, and how many pass its half of the rule. */
  summary: Record<string, SeedSummary>;
  /** Seeds passing the whole rule. */
  passes: { passes: number; runs: number; all: boolean };
  createdAt: string;
  lethe: string;
}

const finite = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** The forget-side and retain-side probe names: the values that must fall and stay. */
function probeSides(mc: boolean): { forget: string; retain: string } {
  return mc ? { forget: 'forgetAcc', retain: 'retainAcc' } : { forget: 'forgetProb', retain: 'retainProb' };
}

/**
 * Runs the unlearning of `opts` once per seed (opts.seed, opts.seed + 1, …, opts.seeds of them)
 * into OUT/seed-K/ (each as `runUnlearning` makes a single run; with `opts.resume` every seed
 * resumes from its own last checkpoint, a finished seed at once), scores the forget/retain
 * probe (`probeEvaluator`, or `mcProbeEvaluator` with `opts.mcProbe`: the same probe as
 * --eval-every, on `opts.evalItems` items, default 16) on the input model and on every seed's
 * kept weights, and writes OUT/seeds.json (SeedsFile, `lethe.seeds/1`): per seed its probe
 * values and final loss, per quantity mean ± sample sd (src/eval/stats/seeds.ts), and the seeds
 * passing the rule "the forget-side probe below the input model's and the retain-side probe at
 * least 80% of the input's" (k of N). Errors as `unlearn`; a diverged seed is recorded
 * (stopped: 'diverged') and the others still run.
 */
export async function unlearnSeeds(input: Model, tokenizer: Tokenizer, opts: SeedsRunOptions): Promise<{ file: SeedsFile; path: string; results: UnlearningRunResult[] }> {
  const mc = opts.mcProbe !== undefined;
  const items = opts.evalItems ?? 16;
  const evaluate: (model: Model) => Promise<Evaluation> = opts.mcProbe
    ? mcProbeEvaluator(tokenizer, opts.mcProbe.sides, opts.mcProbe.options)
    : probeEvaluator(tokenizer, opts.template, opts.forget.slice(0, items), opts.retain.slice(0, items), opts.contextLength);
  const sides = probeSides(mc);
  const inputProbe = (await evaluate(input)).metrics;
  const forgetBelow = inputProbe[sides.forget];
  const retainAtLeast = SEEDS_RETAIN_SHARE * inputProbe[sides.retain];
  const passes = (probe: Record<string, number>) => probe[sides.forget] < forgetBelow && probe[sides.retain] >= retainAtLeast;

  const seeds = seedList(opts.seed, opts.seeds);
  const runs: SeedRunRecord[] = [];
  const results: UnlearningRunResult[] = [];
  for (const seed of seeds) {
    const runDir = seedRunDir(opts.out, seed);
    if (opts.config) {
      const { seeds: _n, ...single } = opts.config;
      await writeResolvedConfig(runDir, 'unlearn', { ...single, seed, out: runDir });
    }
    const result = await runUnlearning(input, tokenizer, { ...opts, seed, runDir });
    const probe = (await evaluate(result.model)).metrics;
    const record: SeedRunRecord = {
      seed, runDir: `seed-${seed}`, steps: result.run.loop.steps, stopped: result.run.loop.stopped, bestStep: result.bestStep,
      loss: finite((await lastLogLine(runDir))?.loss), probe, pass: result.run.loop.stopped === 'done' && passes(probe), wallSeconds: result.run.loop.wallSeconds,
    };
    runs.push(record);
    results.push(result);
    opts.onSeed?.(record, result);
  }

  const summary: Record<string, SeedSummary> = { loss: summariseSeeds(runs.map((r) => r.loss)) };
  for (const key of Object.keys(inputProbe)) {
    const rule = key === sides.forget ? (v: number) => v < forgetBelow : key === sides.retain ? (v: number) => v >= retainAtLeast : undefined;
    summary[key] = summariseSeeds(runs.map((r) => (r.stopped === 'done' ? r.probe[key] : null)), rule);
  }
  const file: SeedsFile = {
    schema: SEEDS_SCHEMA,
    method: typeof opts.method === 'string' ? opts.method : opts.method.name,
    seeds,
    probe: mc ? 'mc' : 'qa',
    probeItems: mc ? null : Math.min(items, opts.forget.length),
    rule: `${sides.forget} below the input model's (${forgetBelow.toPrecision(4)}) and ${sides.retain} at least ${SEEDS_RETAIN_SHARE * 100}% of the input's (≥ ${retainAtLeast.toPrecision(4)}); a diverged seed does not pass`,
    input: inputProbe,
    runs,
    summary,
    passes: passesInKOfN(runs.map((r) => r.pass)),
    createdAt: new Date().toISOString(),
    lethe: LETHE_VERSION,
  };
  const path = join(opts.out, SEEDS_FILE);
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
  return { file, path, results };
}

/** seeds.json's summary as lines for the terminal: "forgetProb 0.012 ± 0.004 (3 seeds), passes in 3 of 3", then the rule's k of N. */
export function formatSeedsFile(file: SeedsFile): string[] {
  const lines = Object.entries(file.summary).map(([key, s]) => `${key} ${formatSeedSummary(s)}`);
  lines.push(`passes in ${file.passes.passes} of ${file.passes.runs} seeds: ${file.rule}`);
  return lines;
}
