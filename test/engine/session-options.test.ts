// Session options that change speed only: the same program gives bit-identical results with
// ONNX Runtime's idle threads spinning (its default) or sleeping (LETHE_SPIN=0), on sizes
// large enough for the work to be split across threads.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { compile } from '../../src/engine/program.ts';
import { Rng } from '../../src/engine/random.ts';

test('spinning on and off: bit-identical outputs (matmul, softmax, reduction)', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [256, 384]);
  const w = g.input('w', 'float32', [384, 512]);
  const h = o.matmul(x, w);
  const outputs = { probs: o.softmax(h, -1), total: o.sum(o.square(h)) };
  const rng = new Rng(3);
  const feeds = {
    x: { dtype: 'float32' as const, shape: [256, 384], data: rng.normalArray(256 * 384, 1) },
    w: { dtype: 'float32' as const, shape: [384, 512], data: rng.normalArray(384 * 512, 0.05) },
  };
  const results = [];
  for (const spinning of [true, false]) {
    const program = compile([x, w], outputs, { threads: 2, spinning });
    results.push(await program.run(feeds));
    await program.dispose();
  }
  const [a, b] = results;
  assert.deepEqual(new Uint32Array((b.probs.data as Float32Array).buffer), new Uint32Array((a.probs.data as Float32Array).buffer));
  assert.equal((b.total.data as Float32Array)[0], (a.total.data as Float32Array)[0]);
  assert.ok(Number.isFinite((a.total.data as Float32Array)[0]) && (a.total.data as Float32Array)[0] > 0);
});
