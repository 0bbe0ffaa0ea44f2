// Random token batches for unlearning runs on tiny models: `n` batches of 2 rows × 8 tokens over
// a vocabulary of `vocab`, each row's next tokens as labels and positions 3..6 as the answer.
import type { Batch } from '../../src/data/batches.ts';
import { Rng } from '../../src/engine/random.ts';

export function tokenBatches(n: number, seed: number, vocab: number): Batch[] {
  const rng = new Rng(seed);
  const [B, T] = [2, 8];
  return Array.from({ length: n }, (_, k) => {
    const ids = BigInt64Array.from({ length: B * T }, () => BigInt(1 + rng.int(vocab - 1)));
    const labels = BigInt64Array.from({ length: B * T }, (_, i) => (i % T < T - 1 ? ids[i + 1] : 0n));
    const targetMask = Float32Array.from({ length: B * T }, (_, i) => (i % T >= T / 2 - 1 && i % T < T - 1 ? 1 : 0));
    return { batchSize: B, seqLength: T, inputIds: ids, labels, targetMask, lengths: Int32Array.of(T, T), promptLengths: Int32Array.of(T / 2, T / 2), indices: Int32Array.of(2 * k, 2 * k + 1) };
  });
}
