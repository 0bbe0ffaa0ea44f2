/**
 * ROUGE-L (sentence level) as Google's `rouge_score` computes it:
 * `RougeScorer(['rougeL'], use_stemmer).score(reference, prediction)['rougeL']`.
 *
 * Tokens: lower-case, every run of characters outside [a-z0-9] becomes a space, split on
 * whitespace, optionally Porter-stem the tokens longer than 3 characters (NLTK's stemmer,
 * see porter-stemmer.ts), drop empty tokens. With L = |LCS(reference, prediction)|:
 * precision = L/|prediction|, recall = L/|reference|, F1 = 2PR/(P+R); all 0 if either text has
 * no tokens. TOFU reports the recall (with stemming), MUSE the F1 (without).
 */
import { porterStem } from './porter-stemmer.ts';

export interface RougeScore {
  precision: number;
  recall: number;
  f1: number;
}

export interface RougeOptions {
  /** Porter-stem tokens longer than 3 characters (rouge_score's use_stemmer). Default false. */
  stem?: boolean;
}

export function rougeTokenize(text: string, stem = false): string[] {
  const tokens = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(/\s+/);
  return tokens
    .map((t) => (stem && t.length > 3 ? porterStem(t) : t))
    .filter((t) => /^[a-z0-9]+$/.test(t));
}

/** Length of the longest common subsequence, one DP row at a time. */
export function lcsLength(a: Int32Array, b: Int32Array): number {
  let prev = new Int32Array(b.length + 1);
  let row = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      row[j] = ai === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], row[j - 1]);
    }
    [prev, row] = [row, prev];
  }
  return prev[b.length];
}

/** ROUGE-L of a prediction (e.g. a generation) against a reference (the true answer). */
export function rougeL(reference: string, prediction: string, options: RougeOptions = {}): RougeScore {
  const ref = rougeTokenize(reference, options.stem ?? false);
  const pred = rougeTokenize(prediction, options.stem ?? false);
  if (ref.length === 0 || pred.length === 0) return { precision: 0, recall: 0, f1: 0 };
  const ids = new Map<string, number>();
  const encode = (tokens: string[]): Int32Array =>
    Int32Array.from(tokens, (t) => {
      let id = ids.get(t);
      if (id === undefined) ids.set(t, (id = ids.size));
      return id;
    });
  const lcs = lcsLength(encode(ref), encode(pred));
  const precision = lcs / pred.length;
  const recall = lcs / ref.length;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}
