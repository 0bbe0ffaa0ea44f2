// The options of an evaluation (`lethe eval`): the schema and every default in one place.

import { z } from 'zod';
import { DEFAULT_FORGET_SPLIT, FORGET_SPLITS } from '../data-sources.ts';
import type { EvaluationOptions } from '../evaluate.ts';
import { flag, nonNegativeInt, path, positiveInt } from './fields.ts';

export const EVAL_PATHS = ['model', 'tokenizer', 'retainModel', 'retainResults', 'referenceModel', 'holdout', 'forget', 'retain', 'forgetQa', 'retainQa', 'holdoutQa', 'forgetMc', 'retainMc', 'fewshotMc', 'out'] as const;

/** One path or several (a repeated flag, or a list in a config file). */
const paths = () => z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(path()).min(1, 'expected at least one file'));

const MC_KEYS = ['forgetMc', 'retainMc', 'mcStyle', 'numFewshot', 'fewshotMc'] as const;

export const evalSchema = z
  .strictObject({
    /** A model folder, a llama2.c .bin checkpoint, or a Hub name org/name[@revision]. */
    model: path(),
    /** The tokenizer (file or folder) of --model when it is not beside the model. */
    tokenizer: path().optional(),
    /** tofu; text (MUSE-style, plain text files); muse (the same, labelled as MUSE data). */
    benchmark: z.enum(['tofu', 'text', 'muse', 'mc', 'qa']).optional(),
    forgetSplit: z.enum(FORGET_SPLITS).optional(),
    tofuAuthors: positiveInt().optional(),
    forgetAuthors: positiveInt().optional(),
    /** Items no model saw: .jsonl for TOFU, text lines for the text benchmark. */
    holdout: path().optional(),
    forget: path().optional(),
    retain: path().optional(),
    forgetQa: path().optional(),
    retainQa: path().optional(),
    /** qa: TOFU-format items no model saw (membership inference). */
    holdoutQa: path().optional(),
    /** mc: multiple-choice files of the forget side (WMDP-style) and the retain side (MMLU-style). */
    forgetMc: paths().optional(),
    retainMc: paths().optional(),
    /** mc: the harness's MMLU prompt: letters (default) or the option texts (continuation). */
    mcStyle: z.enum(['default', 'continuation']).optional(),
    /** mc: solved examples before each question, the first K of --fewshot-mc (of the item's subject). */
    numFewshot: nonNegativeInt().optional(),
    fewshotMc: path().optional(),
    retainModel: path().optional(),
    retainResults: path().optional(),
    /** A reference model for the Reference membership-inference attack. */
    referenceModel: path().optional(),
    /** Greedy tokens per answer (TOFU 200) or continuation (VerbMem 128). */
    maxNewTokens: nonNegativeInt().optional(),
    /** false: no generation (ROUGE, VerbMem, KnowMem unavailable). */
    generate: flag().optional(),
    prefixTokens: positiveInt().optional(),
    fewShot: nonNegativeInt().optional(),
    /** At most this many items per TOFU set. */
    limit: positiveInt().optional(),
    batchSize: positiveInt().optional(),
    contextLength: positiveInt().optional(),
    template: z.enum(['auto', 'plain', 'chat']).optional(),
    name: z.string().min(1).optional(),
    role: z.enum(['target', 'retain', 'unlearned', 'baseline']).optional(),
    /** Run even when sets share items (recorded; the invalidated metrics unavailable). */
    allowOverlap: flag().optional(),
    /** Items longer than the context: skip (default), truncate or error. */
    overlong: z.enum(['error', 'skip', 'truncate']).optional(),
    out: path(),
  })
  .superRefine((u, ctx) => {
    const issue = (message: string, key?: string) => ctx.addIssue({ code: 'custom', message, path: key ? [key] : [] });
    if (u.retainModel !== undefined && u.retainResults !== undefined) issue('give --retain-model DIR or --retain-results FILE, not both', 'retainResults');
    if ((u.tofuAuthors === undefined) !== (u.forgetAuthors === undefined)) issue(u.tofuAuthors === undefined ? 'needs --tofu-authors N (the authors of the case)' : 'needed with --tofu-authors (how many authors to forget)', u.tofuAuthors === undefined ? 'tofuAuthors' : 'forgetAuthors');
    const text = u.benchmark === 'text' || u.benchmark === 'muse';
    const mc = u.benchmark === 'mc';
    const qa = u.benchmark === 'qa';
    if (text && u.forget === undefined) issue(`--benchmark ${u.benchmark} needs --forget FILE (text, one document a line)`, 'forget');
    if (!mc) for (const key of MC_KEYS) if (u[key] !== undefined) issue('only with --benchmark mc', key);
    if (!qa && u.holdoutQa !== undefined) issue('only with --benchmark qa (TOFU-format holdout items)', 'holdoutQa');
    if (mc) {
      if (u.forgetMc === undefined && u.retainMc === undefined) issue('--benchmark mc needs --forget-mc FILE and/or --retain-mc FILE (WMDP JSON/JSONL or MMLU CSV)', 'forgetMc');
      if ((u.numFewshot ?? 0) > 0 && u.fewshotMc === undefined) issue('needs --fewshot-mc FILE (the solved examples, e.g. MMLU\'s dev split)', 'numFewshot');
      for (const key of ['forget', 'retain', 'forgetQa', 'retainQa', 'holdout', 'prefixTokens', 'fewShot', 'forgetSplit', 'tofuAuthors', 'limit', 'retainModel', 'retainResults', 'referenceModel'] as const) {
        if (u[key] !== undefined) issue('not with --benchmark mc', key);
      }
    } else if (qa) {
      if (u.forgetQa === undefined) issue('--benchmark qa needs --forget-qa FILE (TOFU-format items, JSON or JSON Lines)', 'forgetQa');
      if (u.retainQa === undefined) issue('--benchmark qa needs --retain-qa FILE (TOFU-format items that must be kept)', 'retainQa');
      for (const key of ['forget', 'retain', 'holdout', 'prefixTokens', 'fewShot', 'forgetSplit', 'tofuAuthors'] as const) {
        if (u[key] !== undefined) issue(key === 'holdout' ? 'with --benchmark qa, give --holdout-qa FILE' : 'not with --benchmark qa', key);
      }
    } else if (!text) {
      for (const key of ['forget', 'retain', 'forgetQa', 'retainQa', 'prefixTokens', 'fewShot'] as const) {
        if (u[key] !== undefined) issue('only with --benchmark text, muse or qa', key);
      }
      if (u.tofuAuthors !== undefined && u.forgetSplit !== undefined) issue('give --forget-split or --tofu-authors/--forget-authors, not both', 'forgetSplit');
    } else {
      for (const key of ['forgetSplit', 'tofuAuthors', 'limit'] as const) if (u[key] !== undefined) issue('only with --benchmark tofu', key);
    }
  });

export type EvalUserOptions = z.infer<typeof evalSchema>;

export type ResolvedEvalOptions = EvaluationOptions;

/** Every default of `lethe eval`: TOFU forget10 with 200 greedy tokens per answer; VerbMem 32-token prefixes and 128-token continuations (MUSE); 3 KnowMem examples; batches of 16. */
export function resolveEvalOptions(u: EvalUserOptions): ResolvedEvalOptions {
  const benchmark = u.benchmark ?? 'tofu';
  const tofu = benchmark === 'tofu' || benchmark === 'qa';
  const { generate: _generate, ...given } = u;
  return {
    ...given,
    benchmark,
    ...(benchmark === 'tofu' && u.tofuAuthors === undefined ? { forgetSplit: u.forgetSplit ?? DEFAULT_FORGET_SPLIT } : {}),
    maxNewTokens: u.generate === false ? null : (u.maxNewTokens ?? (tofu ? 200 : 128)),
    prefixTokens: u.prefixTokens ?? 32,
    fewShot: u.fewShot ?? 3,
    batchSize: u.batchSize ?? 16,
    template: u.template ?? 'auto',
  };
}

