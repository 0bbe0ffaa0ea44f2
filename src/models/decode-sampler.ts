// Picking the next token from one row of logits [V] on the host: O(V) per row and step (a heap of
// the few largest values for top-k and top-p; a sort only when the nucleus is wide). Hugging Face's
// order: temperature, then top-k (TopKLogitsWarper), then top-p (TopPLogitsWarper), then a draw
// from the softmax of what is left.
//
//   greedy (temperature 0, or top-k 1): argmax, the first index on ties (torch.argmax)
//   top-k:  keep logits ≥ the k-th largest (ties with it too)
//   top-p:  drop the least likely tokens whose total probability is ≤ 1 − p; keep the rest (at least one)

import type { Rng } from '../engine/random.ts';

export interface SamplingOptions {
  /** 0: greedy. Else logits are divided by it before the softmax. */
  temperature: number;
  /** Only the k most likely tokens, or null for all. */
  topK: number | null;
  /** Nucleus mass in (0, 1]; 1 keeps all. */
  topP: number;
}

/** The top-p candidates looked at before falling back to all tokens (a nucleus is usually small). */
const NUCLEUS_GUESS = 256;

export class TokenSampler {
  private readonly probs: Float64Array;

  constructor(readonly vocabSize: number, readonly options: SamplingOptions) {
    this.probs = new Float64Array(vocabSize);
  }

  get greedy(): boolean {
    return this.options.temperature === 0 || this.options.topK === 1;
  }

  /** The next token for a row of logits (length V). */
  pick(logits: Float32Array, rng: Rng): number {
    if (this.greedy) return argmax(logits);
    const { temperature, topK, topP } = this.options;
    const V = logits.length;
    const kth = topK !== null && topK < V ? logits[largest(logits, topK)[topK - 1]] : -Infinity;
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (logits[i] >= kth && logits[i] > max) max = logits[i];
    const p = this.probs;
    let total = 0;
    let kept = 0;
    for (let i = 0; i < V; i++) {
      p[i] = logits[i] >= kth ? Math.exp((logits[i] - max) / temperature) : 0;
      total += p[i];
      if (p[i] > 0) kept++;
    }
    if (topP < 1) total = nucleus(p, total, kept, topP);
    let u = rng.next() * total;
    let last = 0;
    for (let i = 0; i < V; i++) {
      if (p[i] === 0) continue;
      last = i;
      u -= p[i];
      if (u < 0) return i;
    }
    return last; // rounding left u ≥ 0: the last candidate
  }
}

/** Index of the largest value, the first one on ties. */
export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Zeroes the tokens outside the top-p nucleus of the unnormalised `p` (sum `total`); returns the new sum. */
function nucleus(p: Float64Array, total: number, kept: number, topP: number): number {
  // Kept mass ≥ p ⇔ the dropped (least likely) mass ≤ 1 − p, HF's rule: walk down from the top.
  const target = topP * total;
  let threshold: number | null = null;
  let mass = 0;
  for (const i of largest(p, Math.min(NUCLEUS_GUESS, kept))) {
    mass += p[i];
    if (mass >= target) {
      threshold = p[i];
      break;
    }
  }
  if (threshold === null) {
    // A wide nucleus: all values, sorted natively (ascending), walked from the top.
    const sorted = p.slice().sort();
    mass = 0;
    threshold = 0;
    for (let j = sorted.length - 1; j >= 0 && sorted[j] > 0; j--) {
      mass += sorted[j];
      threshold = sorted[j];
      if (mass >= target) break;
    }
  }
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] < threshold) p[i] = 0;
    sum += p[i];
  }
  return sum;
}

/** Indices of the m largest values, largest first (a min-heap of size m: O(V log m)). */
export function largest(values: Float32Array | Float64Array, m: number): Int32Array {
  const heap = new Int32Array(m);
  // Heap order: smaller value first; on equal values the larger index is "smaller" (dropped first).
  const below = (a: number, b: number): boolean => values[a] < values[b] || (values[a] === values[b] && a > b);
  const siftDown = (n: number): void => {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let s = i;
      if (l < n && below(heap[l], heap[s])) s = l;
      if (r < n && below(heap[r], heap[s])) s = r;
      if (s === i) return;
      [heap[i], heap[s]] = [heap[s], heap[i]];
      i = s;
    }
  };
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (n < m) {
      let j = n++;
      heap[j] = i;
      while (j > 0) {
        const parent = (j - 1) >> 1;
        if (!below(heap[j], heap[parent])) break;
        [heap[j], heap[parent]] = [heap[parent], heap[j]];
        j = parent;
      }
    } else if (below(heap[0], i)) {
      heap[0] = i;
      siftDown(n);
    }
  }
  // Pop smallest first into the back: the result is largest first.
  const out = new Int32Array(n);
  for (let k = n - 1; k >= 0; k--) {
    out[k] = heap[0];
    heap[0] = heap[--n];
    siftDown(n);
  }
  return out;
}
