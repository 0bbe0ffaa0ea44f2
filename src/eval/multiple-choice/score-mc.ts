/**
 * Multiple-choice evaluation on lethe's one scoring pass (REFERENCE.md, Multiple choice): every
 * (context, continuation) pair of a set goes to the Scorer in one call (batched and cached by
 * text there), ll_k = Σ log p over continuation k's tokens, and the per-item accuracies of
 * accuracy.ts are averaged with the harness's standard error (stderr.ts).
 *
 * Tokenisation: lm-evaluation-harness encodes context + continuation as a whole and takes the
 * tokens after the context's own encoding as the continuation (its _encode_pair); the Scorer
 * encodes them apart. For byte-level BPE (GPT-2, Llama-3, Qwen2, SmolLM, lethe's own) the
 * continuation " A" after "Answer:" is the same tokens either way; for SentencePiece tokenizers
 * that prefix a space marker it may not be. Each item records whether all its continuations got
 * the harness's tokens (`tokenisationMatchesHarness`), and the set counts those that did not.
 * Context: the harness encodes without BOS for causal models unless asked (add_bos_token).
 */
import { LetheError } from '../../engine/errors.ts';
import type { McItem } from '../../data/multiple-choice.ts';
import type { Model } from '../../models/model.ts';
import type { Tokenizer } from '../../models/tokenizer/tokenizer.ts';
import { Scorer, type ScoredText } from '../score.ts';
import { scoreChoices, type McItemScore } from './accuracy.ts';
import { buildMcRequests, type McPromptOptions, type McRequest } from './prompts.ts';
import { meanWithStderr, pooledStderr, type MeanWithStderr } from './stderr.ts';

export interface McItemResult extends McItemScore {
  /** Where the item came from (file:line). */
  where: string;
  subject?: string;
  /** The harness's exact_match: every token of the gold continuation is the model's argmax. */
  isGreedy: boolean;
  /** Every option's continuation was scored on the tokens the harness would use. */
  tokenisationMatchesHarness: boolean;
}

export interface McSetResult {
  /** A name for the set (its file), as results.json and the report show it. */
  name: string;
  items: McItemResult[];
  acc: MeanWithStderr;
  accNorm: MeanWithStderr;
  accBytes: MeanWithStderr;
  /** Mean over items of 1/(number of options): the accuracy of guessing. */
  chance: number;
  /** Items at least one of whose continuations was tokenised unlike the harness. */
  tokenisationMismatches: number;
}

export interface McScorerOptions {
  /** Prepend the tokenizer's BOS to the context (the harness's add_bos_token). Default false. */
  addBosToken?: boolean;
  batchSize?: number;
  contextLength?: number;
}

/**
 * A Scorer for multiple choice: no EOS after the continuation (the harness scores the option
 * alone), BOS only when asked. Chat prompts hold their own special tokens, so pass
 * addBosToken false with them. A Scorer caches by text, so each model state (each probe during
 * unlearning, each attacked model) needs its own.
 */
export function multipleChoiceScorer(model: Model, tokenizer: Tokenizer, options: McScorerOptions = {}): Scorer {
  return new Scorer(model, tokenizer, {
    template: { promptSpecialTokens: options.addBosToken ?? false, appendEos: false },
    batchSize: options.batchSize,
    contextLength: options.contextLength,
  });
}

/** The harness's continuation tokens: encode(context + continuation) after encode(context)'s length. */
export function harnessContinuationIds(tokenizer: Pick<Tokenizer, 'encode'>, context: string, continuation: string, addSpecialTokens = false): number[] {
  const whole = tokenizer.encode(context + continuation, { addSpecialTokens });
  return whole.slice(tokenizer.encode(context, { addSpecialTokens }).length);
}

const sameIds = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);

export interface McEvalOptions extends McPromptOptions {
  /** Whether the Scorer adds BOS (as multipleChoiceScorer was built); used for the harness check. Default false. */
  addBosToken?: boolean;
}

/** Aggregates per-item results into a set result (also used to pool several sets). */
export function summariseMc(name: string, items: McItemResult[]): McSetResult {
  return {
    name,
    items,
    acc: meanWithStderr(items.map((i) => i.acc), `${name} acc`),
    accNorm: meanWithStderr(items.map((i) => i.accNorm), `${name} acc_norm`),
    accBytes: meanWithStderr(items.map((i) => i.accBytes), `${name} acc_bytes`),
    chance: items.length === 0 ? NaN : items.reduce((a, i) => a + i.chance, 0) / items.length,
    tokenisationMismatches: items.filter((i) => !i.tokenisationMatchesHarness).length,
  };
}

/**
 * The pooled result of several sets (each reported apart, and together), as the harness
 * aggregates a group: the union of their items, so each accuracy is the size-weighted mean, with
 * the harness's pooled standard error over the sets (pooledStderr).
 */
export function poolMc(name: string, sets: readonly McSetResult[]): McSetResult {
  const pooled = summariseMc(name, sets.flatMap((s) => s.items));
  for (const key of ['acc', 'accNorm', 'accBytes'] as const) {
    const stderr = pooledStderr(sets.map((s) => s[key]));
    pooled[key] = stderr === null
      ? { ...pooled[key], stderr: null, stderrUnavailable: `${name}: the pooled standard error needs at least 2 items in every set` }
      : { ...pooled[key], stderr, stderrUnavailable: undefined };
  }
  return pooled;
}

/**
 * A set's results per subject (MMLU reports each subject and the group), each subject's items
 * summarised apart; items without a subject are grouped under "(none)".
 */
export function mcBySubject(result: McSetResult): McSetResult[] {
  const groups = new Map<string, McItemResult[]>();
  for (const item of result.items) {
    const key = item.subject ?? '(none)';
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return [...groups].map(([subject, items]) => summariseMc(`${result.name} ${subject}`, items));
}

/**
 * Scores a multiple-choice set: acc, acc_norm, acc_bytes with standard errors, chance, and the
 * per-item results. `scorer` must not append EOS (build it with multipleChoiceScorer); a
 * LetheError says so otherwise. `name` labels the set (e.g. its file).
 */
export async function evaluateMultipleChoice(scorer: Scorer, items: readonly McItem[], name: string, options: McEvalOptions = {}): Promise<McSetResult> {
  if (items.length === 0) throw new LetheError(`${name}: no multiple-choice items`);
  const requests: McRequest[] = buildMcRequests(items, options);
  const pairs = requests.flatMap((r) => r.continuations.map((target) => ({ prompt: r.context, target })));
  let scored: ScoredText[];
  try {
    scored = await scorer.score(pairs);
  } catch (err) {
    if (err instanceof LetheError && /exceed the context length/.test(err.message)) {
      throw new LetheError(`${name}: a prompt is longer than the model's context (${err.message}); use fewer shots or a shorter description`);
    }
    throw err;
  }
  const tokenizer = scorer.tokenizer;
  let at = 0;
  const results = requests.map((r): McItemResult => {
    const own = scored.slice(at, (at += r.continuations.length));
    let matches = true;
    r.continuations.forEach((continuation, k) => {
      // The scorer splits the whole text at the prompt's character boundary (data/batches.ts);
      // the harness splits it after the prompt's own token count. They agree unless a token
      // straddles the boundary, which is then counted rather than hidden.
      const harness = harnessContinuationIds(tokenizer, r.context, continuation, options.addBosToken ?? false);
      const labels = Array.from(own[k].labels);
      if (tokenizer.eosId !== undefined && labels.length === harness.length + 1 && labels[labels.length - 1] === tokenizer.eosId) {
        throw new LetheError(`${name}: the scorer scored an EOS after the option; build it with multipleChoiceScorer (no EOS after the option)`);
      }
      if (!sameIds(labels, harness)) matches = false;
    });
    const gold = own[r.item.answer];
    return {
      ...scoreChoices(own.map((s) => -s.nll), r.choices, r.item.answer),
      where: r.item.where,
      ...(r.item.subject === undefined ? {} : { subject: r.item.subject }),
      isGreedy: sameIds(gold.argmax, gold.labels),
      tokenisationMatchesHarness: matches,
    };
  });
  return summariseMc(name, results);
}
