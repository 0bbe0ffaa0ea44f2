import type { Batch } from '../src/data/batches.ts';
// Shared pieces of the benchmark suites: timing, medians, result tables.

export interface SuiteResult {
  suite: string;
  table: { head: string[]; rows: string[][]; notes: string[] };
  /** The machine-readable result; its `min_ratio` is the suite's headline. */
  json: Record<string, unknown> & { suite: string };
}

export async function timeIt(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function formatTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  return [line(head), '| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |', ...rows.map(line)].join('\n');
}

/**
 * A next-token batch of B rows of T ids (row-major `ids`), the loss on positions whose next token
 * lies at or after P (the answer), batch number `index` for the indices. Both benches' synthetic batches.
 */
export function nextTokenBatch(ids: readonly number[], B: number, T: number, P: number, index = 0): Batch {
  const inputIds = BigInt64Array.from(ids, BigInt);
  const labels = new BigInt64Array(B * T);
  const targetMask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      labels[b * T + t] = inputIds[b * T + t + 1];
      targetMask[b * T + t] = t + 1 >= P ? 1 : 0; // position t predicts token t+1
    }
  }
  return { batchSize: B, seqLength: T, inputIds, labels, targetMask, lengths: new Int32Array(B).fill(T), promptLengths: new Int32Array(B).fill(P), indices: Int32Array.from({ length: B }, (_, i) => index * B + i) };
}
