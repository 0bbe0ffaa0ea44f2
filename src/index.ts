/**
 * lethe as a library: `import { unlearn, evaluateModel, runAttackSuite, writeReport } from 'lethe'`.
 * The commands (`lethe train|unlearn|eval|attack|report|sweep|worker|demo`) are thin layers over these same
 * functions. Every error from bad input is a `LetheError` with one line naming the file, field
 * or option and the problem.
 *
 * Shapes in doc comments: B batch, T positions, V vocabulary, C hidden width. Probabilities are
 * in [0, 1], log-probs natural logarithms, learning rates per optimiser step, times in seconds.
 *
 * @example
 * ```ts
 * import { createModel, presetConfig, trainTokenizer, plainTemplate, finetune, unlearn } from 'lethe';
 * const tokenizer = trainTokenizer(texts, { vocabSize: 512 });
 * const model = createModel(presetConfig('tiny', { vocabSize: tokenizer.vocabSize }), { seed: 0 });
 * const target = (await finetune(model, tokenizer, { data, template: plainTemplate(), lr: 5e-3, batchSize: 8, epochs: 20, runDir: 'runs/target' })).model;
 * const { model: unlearned } = await unlearn(target, tokenizer, { method: 'npo', forget, retain, template: plainTemplate(), lr: 1e-3, batchSize: 8, epochs: 5, runDir: 'runs/npo' });
 * ```
 */

// ── Errors ───────────────────────────────────────────────────────────────────────────────────
/** The error of bad input: a one-line message naming the file/field/option; `exitCode` 2. */
export { LetheError } from './engine/errors.ts';
export { LETHE_VERSION } from './version.ts';
/** zod, for a method's option schema. */
export { z } from 'zod';

// ── Graph ops, for writing a method's loss ──────────────────────────────────────────────────
/**
 * The differentiable graph ops (add, mul, logSoftmax, gatherElements, sum, mean, …) a method's
 * loss is built from; each checks shapes and returns a symbolic tensor. Gradients are derived
 * by lethe (reverse mode on the graph) and the step runs in ONNX Runtime.
 */
export * as ops from './engine/ops.ts';
export type { Tensor } from './engine/graph.ts';
export type { HostTensor, DType } from './engine/dtype.ts';

// ── Models and tokenizers ───────────────────────────────────────────────────────────────────
/**
 * A model → Model: a Hugging Face folder (config.json + model.safetensors, F32/F16/BF16, sharded
 * too), a llama2.c `.bin` checkpoint or its folder, or a Hub name `org/name[@revision]` (from the
 * Hub cache, downloaded into it when online). Throws LetheError on malformed or mismatched files.
 */
export { loadModel, type ModelReadOptions } from './models/load-model.ts';
/**
 * What the commands call: a model and its tokenizer from one spec (a folder, a llama2.c `.bin`
 * file or folder, or a Hub name `org/name[@revision]`); `options.tokenizer` names a tokenizer
 * file (llama2.c tokenizer.bin / tok512.bin, or tokenizer.json) or folder instead of the one
 * beside the model; the Hub options (cacheDir, endpoint, token, offline, onProgress) say how a
 * Hub name is fetched. → { model, tokenizer }. LetheError (exit 2) naming the file when the model
 * or tokenizer is missing or malformed, when a Hub name is not cached and HF_HUB_OFFLINE is set
 * (or the Hub refuses: gated without HF_TOKEN, not found), and when the tokenizer has more tokens
 * than the model's vocab_size.
 */
export { loadModelAndTokenizer, type LoadModelOptions, type LoadedModel } from './models/load-model.ts';
/**
 * The Hugging Face Hub and its cache (huggingface_hub's layout `models--org--name/snapshots/<commit>/`,
 * under HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub). `resolveModelRef(spec)`:
 * a local path for a path or Hub name (cached snapshot, else downloaded unless offline);
 * `downloadSnapshot(ref)`: fetches a repository's model files (config, safetensors, tokenizer
 * files) into the cache, resuming partial files with HTTP Range requests and checking each
 * against the Hub's sha256 (LFS) or git sha1, HF_TOKEN sent for gated models; `parseHubRef`:
 * `org/name[@revision]` → { repo, revision } or null for a path. Errors are LetheErrors.
 */
export { resolveModelRef, downloadSnapshot, parseHubRef, cachedSnapshot, hubCacheDir, type HubOptions, type HubRef } from './models/hub.ts';
/**
 * A command's model input resolved to its local path (for output-containment checks) and then
 * opened with its tokenizer: resolveModelInput(spec, { onDownload }) → { spec, path, hub };
 * openModel(input, { tokenizer }) → { model, tokenizer, input }.
 */
export { resolveModelInput, openModel, type ModelInput, type ModelSourceOptions } from './pipeline/model-source.ts';
/** Model → an HF-format folder (config.json, model.safetensors; tokenizer files when given), written atomically. */
export { saveModel, type SaveModelOptions } from './models/save-model.ts';
/**
 * LoRA adapters: `applyLora` adds them beside a model's linear weights; `mergeLora` folds them in,
 * W' = W + (α/r)·A·B in float32 (an unlearning run under LoRA returns the adapters unmerged).
 */
export { applyLora, mergeLora, type ApplyLoraOptions } from './models/lora.ts';
/** A model and its parameters (name → HostTensor, float32), immutable; `createModel` initialises one from a config. */
export { Model, createModel, type CreateModelOptions } from './models/model.ts';
/** Small architectures to train from scratch: 'tiny', 'small', 'gpt2-124m'. */
export { PRESETS, presetConfig, type PresetName } from './models/presets.ts';
export type { ModelConfig } from './models/formats/model-config.ts';
/** tokenizer.json (+ tokenizer_config.json) of a model folder → Tokenizer. */
export { loadTokenizer } from './models/tokenizer/load-tokenizer.ts';
/** A byte-level BPE tokenizer trained on texts (for models trained from scratch). */
export { trainTokenizer, type TrainTokenizerOptions } from './models/tokenizer/train-tokenizer.ts';
export type { Tokenizer } from './models/tokenizer/tokenizer.ts';
/**
 * llama2.c's tokenizer (tokenizer.bin, tok512.bin) run exactly as llama2.c's run.c encodes and
 * decodes (BOS, the dummy-prefix space, best-scoring merge first, byte fallback as <0xXX> + 3);
 * a continuation decodes with its leading space. `loadLlama2cTokenizer(file)` reads one.
 */
export { Llama2cTokenizer } from './models/tokenizer/llama2c-tokenizer.ts';
export { loadLlama2cTokenizer } from './models/tokenizer/load-tokenizer.ts';
/** Greedy or sampled generation with a KV cache, batched. */
export { generate, Generator, type GenerateOptions, type GeneratorOptions } from './models/generate.ts';

// ── Data sets ───────────────────────────────────────────────────────────────────────────────
/** JSON Lines question/answer items ({question, answer} per line) and plain text sets (one document a line). */
export { readQaJsonl, parseQaJsonl, readTextSet, type QaItem } from './data/qa-dataset.ts';
/** TOFU (Maini et al. 2024), shipped: its splits, its refusal list, and small author subsets. */
/** Multiple-choice files (WMDP JSON/JSON Lines, MMLU CSV) and a user's TOFU-format QA files (JSON arrays or JSON Lines). */
export { readMultipleChoiceFile, parseMcJson, parseMmluCsv, type McItem } from './data/multiple-choice.ts';
export { readQaFile, parseQaFile, assertDisjointQaFiles, type QaFile, type QaFileItem } from './data/qa-files.ts';
export { loadTofuSplit, loadTofuIdk, selectTofuAuthors, TOFU_SPLITS, type TofuSubset } from './data/tofu.ts';
/** Prompt templates: "Question: …\nAnswer: " or the tokenizer's chat template; items → prompt/target pairs. */
export { plainTemplate, chatTemplate, templatePairs, type PromptPair, type PromptTemplate } from './data/templates.ts';
/** Data files and TOFU splits as the commands read them; FORGET_SPLITS is the one forget-split enum. */
export {
  FORGET_SPLITS, DEFAULT_FORGET_SPLIT, pickTemplate, pairsFromFile, retainSplitFor, unlearningSets, readIdk,
  type ForgetSplit, type UnlearningData, type TemplateName,
} from './pipeline/data-sources.ts';

// ── Training and unlearning ─────────────────────────────────────────────────────────────────
/** Fine-tune every parameter on prompt/target pairs (loss on target tokens): the target and retain models of a case. */
export { finetune } from './unlearn/finetune.ts';
/**
 * Unlearn a forget set while keeping a retain set: L = γ·L_f(D_f) + α·L_r(D_r) with the
 * method's L_f (REFERENCE.md), optimiser and schedule in one compiled step; checkpoints and
 * resume in `runDir`. `unlearnBatches` takes batches already tokenised.
 */
export { unlearn, unlearnBatches, type UnlearnOptions, type UnlearnBatches } from './unlearn/run.ts';
export type { RunOptions, RunResult, OptimizerChoice } from './unlearn/run-options.ts';
export type { ScopeOptions } from './unlearn/scope.ts';
export { LORA_LR } from './unlearn/scope.ts';
export type { Evaluation, LoopResult, Progress } from './unlearn/loop.ts';
/** An unlearning run with probes every N steps, the best step kept, and the model saved to runDir/model. */
export { runUnlearning, probeEvaluator, mcProbeEvaluator, type UnlearningRunOptions, type UnlearningRunResult } from './pipeline/unlearning-run.ts';
/**
 * What `lethe unlearn` reads for a run from its resolved options (resolveUnlearnOptions): the
 * template, the forget/retain/refusal pairs fitted to the context, the MC probe files, the method
 * and scope. Throws LetheError naming file and line for malformed, overlapping or overlong sets.
 */
export { unlearningInputs, type UnlearningInputs } from './pipeline/unlearning-inputs.ts';
export { unlearnSchema, resolveUnlearnOptions, type UnlearnUserOptions, type ResolvedUnlearnOptions } from './pipeline/options/unlearn.ts';
/**
 * `lethe unlearn --seeds N`: unlearnSeeds(input, tokenizer, { ...UnlearningRunOptions, out, seed,
 * seeds, config? }) runs the unlearning once per seed (seed, seed + 1, …) into OUT/seed-K/ (each
 * a complete run folder; resumable like a single run), scores the forget/retain probe on the
 * input and on each seed's kept weights, and writes OUT/seeds.json (`lethe.seeds/1`: per-seed
 * probe values and final loss, mean ± sample sd per quantity, and the seeds passing "forget probe
 * below the input's, retain probe ≥ 80% of the input's", k of N) → { file, path, results }.
 * formatSeedsFile(file) gives its lines for a terminal. Errors as `unlearn`.
 */
export { unlearnSeeds, formatSeedsFile, seedRunDir, seedList, SEEDS_SCHEMA, SEEDS_FILE, type SeedsRunOptions, type SeedsFile, type SeedRunRecord } from './pipeline/unlearning-seeds.ts';
/** Mean ± sd and "passes in k of N" of a metric over seeds (src/eval/stats/seeds.ts). */
export { summariseSeeds, passesInKOfN, formatSeedSummary, type SeedSummary } from './eval/stats/seeds.ts';

// ── Methods: the registry and what a method is ──────────────────────────────────────────────
/**
 * The method record (name, summary, defaults, zod schema, default lr, needs, forgetLoss, and
 * optionally resolve/hiddenLayer/scope/retainLoss) and the registry. Define a method in your own
 * code and either pass the record as `unlearn({ method })` or `registerMethod` it by name.
 */
export { commonOptionFields, objective, requireInput, type UnlearnMethod, type MethodInputs, type CommonOptions, type Need } from './unlearn/method.ts';
export { METHODS, registerMethod, getMethod, methodNames, methodOptions, type AnyMethod } from './unlearn/methods/index.ts';
/** RMU's published recipe (`lethe unlearn --method rmu --preset wmdp`) and the block at a fraction of the depth. */
export { RMU_WMDP_PRESET, layerAtDepth } from './unlearn/methods/rmu.ts';
/** Shared loss math in REFERENCE.md's notation (token and sequence log-probs, token-level mean NLL, DPO loss, soft-target CE). */
export { tokenLogprobs, sequenceLogp, sampleCe, batchCe, targetMean, logSigmoid, dpoLoss, softTargetCe, oneHot, type Scored } from './unlearn/objective.ts';
/** The masked mean and sequence NLL training, tests and the benchmark share. */
export { maskedMean, maskedCrossEntropy, sequenceLogprob, nextTokenLoss } from './nn/loss.ts';

// ── Evaluation ──────────────────────────────────────────────────────────────────────────────
/**
 * One model folder → a results record (lethe.results/1): TOFU (forget quality, model utility,
 * Prob, ROUGE-L, truth ratio), text/MUSE (VerbMem, KnowMem), membership inference (Loss, Zlib,
 * Min-K%, Min-K%++, Reference, gradient-norm AUCs; PrivLeak), memorisation, efficiency.
 */
export { evaluateModel, type EvaluationOptions } from './pipeline/evaluate.ts';
/** The same families on a model in memory. */
export { tofuMetrics, tofuSets, qaSets, type TofuSelection, type QaSelection, type TofuRunOptions } from './pipeline/eval-tofu.ts';
/** Multiple choice the lm-evaluation-harness way on a model in memory: each file and each side's pool. */
export { mcMetrics, readMcSides, mcSetRecord, type McFile, type McSides, type McRunOptions, type McEvaluation } from './pipeline/eval-mc.ts';
export { evaluateMultipleChoice, multipleChoiceScorer, poolMc, mcBySubject, summariseMc, type McSetResult, type McItemResult } from './eval/multiple-choice/score-mc.ts';
export { buildMcRequests, type McPromptOptions, type McPromptStyle } from './eval/multiple-choice/prompts.ts';
export { textMetrics, TEXT_TEMPLATE, type TextSets, type TextRunOptions } from './pipeline/eval-text.ts';
export { EvalMeter, CountingScorer } from './pipeline/eval-meter.ts';
/** The teacher-forced scoring pass every log-prob metric derives from. */
export { Scorer, type ScoredText, type ScorerOptions } from './eval/score.ts';
export { evaluateTofu, type TofuSets } from './eval/tofu-benchmark.ts';
export { miaAucs } from './eval/mia-aucs.ts';
/** Metric functions of scored items (no model): each returns { value, perItem, unavailable? }. */
export { probability, normalisedProbability, truthRatio, forgetQuality, modelUtility, rougeRecall } from './eval/metrics/tofu.ts';
export { verbMem, knowMem } from './eval/metrics/muse.ts';
export { miaAuc, miaScores, privLeak, type MiaAttack } from './eval/metrics/mia.ts';
export { exactMemorization, extractionStrength } from './eval/metrics/memorisation.ts';
export { unavailable, type MetricResult } from './eval/metrics/metric-result.ts';

// ── Attacks and input-based baselines ───────────────────────────────────────────────────────
/** Relearning, quantisation and prompt attacks on a model folder (or a baseline around it) → the results' attacks record. */
export { runAttackSuite, type AttackRunOptions } from './pipeline/attack-run.ts';
/** The relearning attack measured by multiple-choice accuracy (capability unlearning; `lethe attack --benchmark mc`). */
export { relearnMcAttack, mcAccuracies, type McRelearnOptions, type McAttackOutcome, type McAttackScores } from './attacks/relearn-mc.ts';
export { runMcRelearnAttack, type McAttackRunOptions } from './pipeline/attack-mc.ts';
export { ATTACKS, runAttacks, attackResults } from './attacks/run-attacks.ts';
/** Baselines that change no weight: a guardrail system prompt, in-context unlearning, an output filter. */
export { guardrail, icul, outputFilter, tofuAuthorNames } from './attacks/baselines.ts';

// ── Results files and the report ────────────────────────────────────────────────────────────
/** The results file's schema (lethe.results/1) and its reader; composeResults/writeResults make one (checked, atomic). */
export { RESULTS_SCHEMA, parseResults, readResults, type Results, type Role } from './results/schema.ts';
export { composeResults, writeResults, type MetricFamilies, type ResultsInput } from './pipeline/results-file.ts';
/** Results files (or run folders) → one self-contained report.html with tables and plots. */
export { writeReport } from './report/report.ts';

// ── Sweeps ─────────────────────────────────────────────────────────────────────────────────
/**
 * Sweeps over methods × options × loop settings × seeds (`lethe sweep`, `lethe worker`).
 *
 * - `runSweepFile({file, outDir, queue?, runner?, signal?, onProgress?})` → SweepFile: reads and
 *   validates SWEEP.yaml (LetheError `FILE: FIELD: problem`), expands it with every trial resolved
 *   as `lethe unlearn` would run it, and runs it in this process with the real runner (trials one
 *   after another; killed and started again it skips finished trials and resumes the running one
 *   from its checkpoint) or, with `queue: {url: 'redis://HOST:PORT'}`, as the coordinator of
 *   BullMQ workers. DIR/sweep.json (lethe.sweep/1) holds every trial's resolved config, status,
 *   timings, headline metrics {value, interval [low, high] (95% bootstrap) | null} or
 *   {value: null, unavailable}, and the target's values on the same data.
 * - `runSweep({sweep, outDir, runner | queue})`: the same from an expanded sweep and any runner.
 * - `runWorker({queue, runner, workDir, signal})`: a worker; resolves when `signal` aborts (its
 *   current trial handed back to the queue). Results travel through Redis (the job's return
 *   value); trial folders and models stay in WORKDIR/trials/<id>/.
 * - `realTrialRunner(opts)`: unlearn → evaluate → attack, one trial (TrialRunner);
 *   `resolveTrialConfig`: expandSweep's `resolve` for it.
 * - `writeSweepReport(dir, out)`: the Pareto front (forget quality vs model utility, with the target
 *   and the retain reference), best trial per method under the selection rule, spread over seeds,
 *   sensitivity (η²) and every trial's attacks as HTML, beside the run tables of the target, the
 *   retain reference and the trials whose folders are readable (training curves from
 *   trials/<id>/unlearn/log.jsonl).
 */
export {
  runSweepFile, runSweep, runWorker, realTrialRunner, resolveTrialConfig, expandSweep, readSweepSpec, parseSweepSpec, readSweepFile,
  writeSweepReport, formatProgress, sweepProgress, SWEEP_SCHEMA,
  type SweepFileOptions, type SweepOptions, type WorkerOptions, type WorkerEvent, type RealRunnerOptions, type TrialRunner, type TrialContext,
  type TrialOutcome, type Trial, type TrialConfig, type ExpandedSweep, type SweepSpec, type SweepFile, type SweepProgress, type HeadlineMetric,
} from './pipeline/sweep/index.ts';
/** What a sweep found (pure functions of sweep.json's trials): Pareto front, best per method, seed spread, sensitivity, the target's point, attack rows. */
export { analyzeSweep, paretoFront, selectBest, bestPerMethod, seedSpread, sensitivity, targetPoints, attackRows, type SweepAnalysis, type ReferencePoint, type AttackRow } from './report/sweep-analysis.ts';

// ── The demo ────────────────────────────────────────────────────────────────────────────────
/** The whole pipeline on a built-in small TOFU case (what `lethe demo` runs). */
export { demo, type DemoOptions, type DemoOutcome } from './pipeline/demo/run-demo.ts';
/** The capability case (`lethe demo --case capability`): forget a made-up technical domain, keep another, then relearn. */
export { capabilityDemo, capabilityTable, capabilityHeadline, CAPABILITY_SUMMARY_SCHEMA, type CapabilitySummary, type CapabilityRow } from './pipeline/demo/capability-demo.ts';
export { capabilityData, CAPABILITY_FULL_PLAN, CAPABILITY_QUICK_PLAN, type CapabilityPlan, type CapabilityCase } from './pipeline/demo/capability-case.ts';
export { silentProgress, type ProgressDisplay, type ProgressFactory } from './pipeline/progress.ts';
