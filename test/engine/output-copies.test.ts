// onnxruntime-node 1.30 returns a copy of every output, also of those written into buffers the
// caller gave (Program.run's `into`). A train step's copies (parameters, optimiser state) are
// garbage at once; Program collects them when the next run starts, so at most one run's copies
// exist at a time (a SmolLM2-360M step otherwise kept several GB of them into the next step).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { compile } from '../../src/engine/program.ts';

test('the copies of outputs written into given buffers do not pile up across runs', async () => {
  const n = 32 * 2 ** 20; // 128 MiB of float32
  const g = new Graph();
  const x = g.input('x', 'float32', [n]);
  const program = compile([x], { y: o.add(x, 1) });
  const buffer = { dtype: 'float32' as const, shape: [n], data: new Float32Array(n) };
  const input = { dtype: 'float32' as const, shape: [n], data: new Float32Array(n) };
  const bytes = () => process.memoryUsage().arrayBuffers;
  const base = bytes();
  for (let i = 0; i < 4; i++) {
    input.data[0] = i;
    await program.run({ x: input }, { y: buffer });
    assert.equal(buffer.data[0], i + 1, 'the result is in the given buffer');
    // This run's copy may still exist (collected when the next run starts); earlier ones may not.
    assert.ok(bytes() - base < 1.5 * n * 4, `run ${i}: ${((bytes() - base) / 2 ** 20).toFixed(0)} MiB of array buffers beyond the inputs`);
  }
  await program.dispose();
});
