/**
 * lethe as a library: `import { unlearn, evaluateModel, runAttackSuite, writeReport } from 'lethe'`.
 * The commands (`lethe train|unlearn|eval|attack|report|demo`) are thin layers over these same
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
/** A model folder (HF: config.json + model.safetensors, or llama2.c .bin) → Model. Throws LetheError on malformed or mismatched files. */
export { loadModel } from './models/load-model.ts';
/** Model → an HF-format folder (config.json, model.safetensors; tokenizer files when given), written atomically. */
export { saveModel, type SaveModelOptions } from './models/save-model.ts';
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

// ── Methods: the registry and what a method is ──────────────────────────────────────────────
/**
 * The method record (name, summary, defaults, zod schema, default lr, needs, forgetLoss, and
 * optionally resolve/hiddenLayer/scope/retainLoss) and the registry. Define a method in your own
 * code and either pass the record as `unlearn({ method })` or `registerMethod` it by name.
 */
export { commonOptionFields, objective, requireInput, type UnlearnMethod, type MethodInputs, type CommonOptions, type Need } from './unlearn/method.ts';
export { METHODS, registerMethod, getMethod, methodNames, methodOptions, type AnyMethod } from './unlearn/methods/index.ts';
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
export { ATTACKS, runAttacks, attackResults } from './attacks/run-attacks.ts';
/** Baselines that change no weight: a guardrail system prompt, in-context unlearning, an output filter. */
export { guardrail, icul, outputFilter, tofuAuthorNames } from './attacks/baselines.ts';

// ── Results files and the report ────────────────────────────────────────────────────────────
/** The results file's schema (lethe.results/1) and its reader; composeResults/writeResults make one (checked, atomic). */
export { RESULTS_SCHEMA, parseResults, readResults, type Results, type Role } from './results/schema.ts';
export { composeResults, writeResults, type MetricFamilies, type ResultsInput } from './pipeline/results-file.ts';
/** Results files (or run folders) → one self-contained report.html with tables and plots. */
export { writeReport } from './report/report.ts';

// ── The demo ────────────────────────────────────────────────────────────────────────────────
/** The whole pipeline on a built-in small TOFU case (what `lethe demo` runs). */
export { demo, type DemoOptions, type DemoOutcome } from './pipeline/demo/run-demo.ts';
export { silentProgress, type ProgressDisplay, type ProgressFactory } from './pipeline/progress.ts';
