// nextTokenLoss against the mean next-token cross-entropy computed on the host, for a symbolic
// sequence length, and maskedCrossEntropy counting only masked positions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { Rng } from '../../src/engine/random.ts';
import { maskedCrossEntropy, nextTokenLoss } from '../../src/nn/loss.ts';

function logSoftmaxAt(row: Float32Array, label: number): number {
  const mx = Math.max(...row);
  const z = row.reduce((s, v) => s + Math.exp(v - mx), 0);
  return row[label] - mx - Math.log(z);
}

test('nextTokenLoss: mean over b and t < T−1 of −log p(ids[t+1]), for any T', async () => {
  const V = 7;
  const g = new Graph();
  const logits = g.input('logits', 'float32', ['B', 'T', V]);
  const ids = g.input('ids', 'int64', ['B', 'T']);
  const program = compile([logits, ids], { loss: nextTokenLoss(logits, ids) });
  const rng = new Rng(1);
  for (const [B, T] of [[2, 5], [1, 2], [3, 9]]) {
    const l = rng.normalArray(B * T * V, 2);
    const tokens = Array.from({ length: B * T }, () => rng.int(V));
    const r = await program.run({ logits: { dtype: 'float32', shape: [B, T, V], data: l }, ids: { dtype: 'int64', shape: [B, T], data: BigInt64Array.from(tokens, BigInt) } });
    let sum = 0;
    for (let b = 0; b < B; b++) for (let t = 0; t < T - 1; t++) sum -= logSoftmaxAt(l.subarray((b * T + t) * V, (b * T + t + 1) * V), tokens[b * T + t + 1]);
    const want = sum / (B * (T - 1));
    assert.ok(Math.abs(Number(r.loss.data[0]) - want) < 1e-5, `B=${B} T=${T}: ${r.loss.data[0]} vs ${want}`);
  }
  await program.dispose();
});

test('maskedCrossEntropy averages over the masked positions only', async () => {
  const g = new Graph();
  const logits = g.input('logits', 'float32', [3, 2]);
  const labels = g.input('labels', 'int64', [3]);
  const mask = g.input('mask', 'float32', [3]);
  const program = compile([logits, labels, mask], { loss: maskedCrossEntropy(logits, labels, mask).loss });
  const l = Float32Array.of(0, 1, 2, 0, 5, 5);
  const r = await program.run({ logits: { dtype: 'float32', shape: [3, 2], data: l }, labels: { dtype: 'int64', shape: [3], data: BigInt64Array.of(1n, 1n, 0n) }, mask: { dtype: 'float32', shape: [3], data: Float32Array.of(1, 0, 1) } });
  await program.dispose();
  const want = -(logSoftmaxAt(l.subarray(0, 2), 1) + Math.log(0.5)) / 2;
  assert.ok(Math.abs(Number(r.loss.data[0]) - want) < 1e-6);
});
