/**
 * Per-item multiple-choice accuracies, as lm-evaluation-harness scores a `multiple_choice` task
 * (lm_eval/api/task.py, ConfigurableTask.process_results; lm_eval/api/metrics):
 *  - acc:       argmax_k ll_k == gold, ll_k = Σ log p(continuation_k tokens | context);
 *  - acc_norm:  argmax_k ll_k / len(choice_k) == gold, len = the choice text's length in
 *               characters (Python `len`: Unicode code points) of the choice itself, without the
 *               target delimiter (the leading space) — not bytes, whatever some write-ups say;
 *  - acc_bytes: the same with the choice's UTF-8 byte length (the harness's `acc_bytes`).
 * For ASCII choices acc_norm and acc_bytes agree. Ties go to the first option (numpy's argmax).
 * `isGreedy` (every continuation token is the teacher-forced argmax) is the harness's
 * exact_match for the gold option.
 */
import { LetheError } from '../../engine/errors.ts';

export interface McItemScore {
  /** ll_k: summed log-likelihood (nats) of each option's continuation. */
  loglikelihoods: number[];
  /** Characters (code points) and UTF-8 bytes of each option's text (no delimiter). */
  choiceChars: number[];
  choiceBytes: number[];
  gold: number;
  pred: number;
  predNorm: number;
  predBytes: number;
  acc: 0 | 1;
  accNorm: 0 | 1;
  accBytes: 0 | 1;
  /** 1 / number of options. */
  chance: number;
}

/** Index of the largest value; the first one on ties (numpy.argmax). */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

export const charLength = (text: string): number => [...text].length;
export const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Scores one item from its options' log-likelihoods, option texts and the right option. */
export function scoreChoices(loglikelihoods: readonly number[], choices: readonly string[], gold: number): McItemScore {
  if (loglikelihoods.length !== choices.length || choices.length < 2) {
    throw new LetheError(`multiple choice: ${loglikelihoods.length} log-likelihoods for ${choices.length} options`);
  }
  if (!Number.isInteger(gold) || gold < 0 || gold >= choices.length) throw new LetheError(`multiple choice: gold option ${gold} out of range`);
  const choiceChars = choices.map(charLength);
  const choiceBytes = choices.map(byteLength);
  const pred = argmax(loglikelihoods);
  // A zero-length option divides by zero in the harness too (inf/nan); refuse it instead.
  if (choiceChars.some((n) => n === 0)) throw new LetheError('multiple choice: an option is empty, so acc_norm is undefined');
  const predNorm = argmax(loglikelihoods.map((ll, k) => ll / choiceChars[k]));
  const predBytes = argmax(loglikelihoods.map((ll, k) => ll / choiceBytes[k]));
  return {
    loglikelihoods: [...loglikelihoods],
    choiceChars,
    choiceBytes,
    gold,
    pred,
    predNorm,
    predBytes,
    acc: pred === gold ? 1 : 0,
    accNorm: predNorm === gold ? 1 : 0,
    accBytes: predBytes === gold ? 1 : 0,
    chance: 1 / choices.length,
  };
}
