// In-graph dropout: the drop rate is right, kept values are scaled, masks are fixed by the seed,
// differ between seeds and salts, and show no structure between neighbours.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { dropout } from '../../src/nn/dropout.ts';

test('dropout keeps ≈ 1 − rate of the values, scaled by 1/(1 − rate), the same for the same seed', async () => {
  const shape = [4, 64, 96];
  const n = 4 * 64 * 96;
  const rate = 0.3;
  const g = new Graph();
  const x = g.input('x', 'float32', ['B', 'T', 96]);
  const seed = g.input('seed', 'int64', []);
  const program = compile([x, seed], { a: dropout(x, rate, seed, 0), b: dropout(x, rate, seed, 1) });
  const run = async (s: bigint) => program.run({ x: { dtype: 'float32', shape, data: new Float32Array(n).fill(2) }, seed: { dtype: 'int64', shape: [], data: BigInt64Array.of(s) } });
  const r1 = await run(1n);
  const r1again = await run(1n);
  const r2 = await run(2n);
  await program.dispose();
  const a = r1.a.data as Float32Array;
  const kept = a.filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 2 / (1 - rate)) < 1e-6));
  assert.ok(Math.abs(kept.length / n - (1 - rate)) < 0.01, `kept ${kept.length / n}`);
  assert.deepEqual(r1again.a.data, r1.a.data);
  const agree = (p: Float32Array, q: Float32Array) => p.reduce((c, v, i) => c + ((v === 0) === (q[i] === 0) ? 1 : 0), 0) / n;
  // Independent masks agree on (1−r)² + r² = 0.58 of the elements; identical ones on all.
  assert.ok(Math.abs(agree(a, r2.a.data as Float32Array) - 0.58) < 0.02);
  assert.ok(Math.abs(agree(a, r1.b.data as Float32Array) - 0.58) < 0.02);
  // Neighbours along each axis are no more alike than independent draws.
  const along = (stride: number) => agree(a.subarray(0, n - stride), a.subarray(stride)) * n / (n - stride);
  for (const stride of [1, 96, 64 * 96]) assert.ok(Math.abs(along(stride) - 0.58) < 0.02, `stride ${stride}: ${along(stride)}`);
});
