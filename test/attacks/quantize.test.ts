// RTN quantisation: the int8/int4 grids and per-channel scales by hand, zeros kept, the error
// within half a step, only the blocks' linear weights touched, and 8 bits closer to the
// full-precision logits than 4 bits.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { LetheError } from '../../src/engine/errors.ts';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { Rng } from '../../src/engine/random.ts';
import { blockLinearWeights, quantizeModel, quantizeWeight } from '../../src/attacks/quantize.ts';
import { createModel, type Model } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';

const tensor = (rows: number[][]): HostTensor => ({ dtype: 'float32', shape: [rows.length, rows[0].length], data: Float32Array.from(rows.flat()) });
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);

// [in = 3, out = 2]: output channel 0 is the column (1, −0.5, 0.25); channel 1 is all zero.
const w = tensor([[1, 0], [-0.5, 0], [0.25, 0]]);

test('8 bits: scale absmax/127 per output channel, codes rounded half away from zero', () => {
  const { values, scales } = quantizeWeight(w, 8);
  close(scales[0], 1 / 127);
  assert.equal(scales[1], 0);
  // 1·127 = 127; −0.5·127 = −63.5 → −64; 0.25·127 = 31.75 → 32.
  close(values[0], 127 / 127);
  close(values[2], -64 / 127);
  close(values[4], 32 / 127);
});

test('4 bits: scale absmax/7, codes in −7..7', () => {
  const { values, scales } = quantizeWeight(w, 4);
  close(scales[0], 1 / 7);
  // 1·7 = 7; −0.5·7 = −3.5 → −4; 0.25·7 = 1.75 → 2.
  close(values[0], 1);
  close(values[2], -4 / 7);
  close(values[4], 2 / 7);
});

test('an all-zero channel and zero weights stay exactly zero', () => {
  const { values } = quantizeWeight(tensor([[0, 3], [2, 0], [0, -1]]), 4);
  assert.deepEqual([values[1 * 2 + 1], values[0], values[4]], [0, 0, 0]);
  assert.deepEqual(Array.from(quantizeWeight(w, 4).values.filter((_, i) => i % 2 === 1)), [0, 0, 0]);
});

test('scales are per output channel: a large weight in one column leaves the others alone', () => {
  const small = quantizeWeight(tensor([[0.1, 0], [0.05, 0]]), 4).values;
  const mixed = quantizeWeight(tensor([[0.1, 100], [0.05, 1]]), 4);
  assert.equal(mixed.values[0], small[0]);
  assert.equal(mixed.values[2], small[2]);
  close(mixed.scales[1], 100 / 7);
  assert.equal(mixed.values[3], 0); // 1 is below half a step (50/7) of column 1
});

test('groups of input rows get their own scales', () => {
  const { values, scales } = quantizeWeight(tensor([[1], [0.5], [0.012], [0.02]]), 4, 2);
  assert.equal(scales.length, 2);
  close(scales[0], 1 / 7);
  close(scales[1], 0.02 / 7);
  close(values[1], 4 / 7); // 3.5 → 4
  close(values[2], (4 * 0.02) / 7); // 0.012 / (0.02/7) = 4.2 → 4
  close(values[3], 0.02);
  // Without groups the small rows share the large scale and round to zero.
  assert.equal(quantizeWeight(tensor([[1], [0.5], [0.012], [0.02]]), 4).values[2], 0);
});

for (const bits of [8, 4, 3]) {
  test(`${bits} bits on random weights: every value on its channel's grid, error ≤ half a step`, () => {
    const [rows, cols] = [37, 5];
    const t: HostTensor = { dtype: 'float32', shape: [rows, cols], data: new Rng(bits).normalArray(rows * cols, 0.7) };
    const { values, scales } = quantizeWeight(t, bits);
    const qmax = 2 ** (bits - 1) - 1;
    for (let j = 0; j < cols; j++) {
      const s = scales[j];
      let absmax = 0;
      for (let r = 0; r < rows; r++) absmax = Math.max(absmax, Math.abs(t.data[r * cols + j] as number));
      close(s, absmax / qmax);
      const codes = new Set<number>();
      for (let r = 0; r < rows; r++) {
        const [x, y] = [t.data[r * cols + j] as number, values[r * cols + j]];
        const code = y / s;
        assert.ok(Math.abs(code - Math.round(code)) < 1e-4 && Math.abs(code) <= qmax + 1e-4, `code ${code}`);
        codes.add(Math.round(code));
        assert.ok(Math.abs(x - y) <= s / 2 + 1e-6 * absmax, `|${x} − ${y}| > ${s / 2}`);
      }
      assert.ok(codes.size <= 2 * qmax + 1);
    }
  });
}

test('bad bit widths and shapes are LetheErrors', () => {
  assert.throws(() => quantizeWeight(w, 1), LetheError);
  assert.throws(() => quantizeWeight(w, 4.5), LetheError);
  assert.throws(() => quantizeWeight({ dtype: 'float32', shape: [4], data: new Float32Array(4) }, 8), LetheError);
});

const model = createModel(presetConfig('tiny', { vocabSize: 97 }), { seed: 5, initStd: 0.2 });

test('quantizeModel: only the blocks\' linear weights change; the input model is untouched', () => {
  const copy = new Map([...model.params].map(([n, t]) => [n, Float32Array.from(t.data as Float32Array)]));
  const q = quantizeModel(model, { bits: 4 });
  const linear = blockLinearWeights(model);
  assert.equal(linear.size, 2 * 7); // q, k, v, o, gate, up, down per block
  for (const [name, t] of model.params) {
    assert.deepEqual(t.data, copy.get(name), `${name} of the input changed`);
    if (linear.has(name)) assert.notDeepEqual(q.params.get(name)!.data, t.data, name);
    else assert.equal(q.params.get(name), t, `${name} should be shared as is`);
  }
});

async function logits(m: Model, ids: number[]): Promise<Float32Array> {
  const g = new Graph();
  const input = g.input('input_ids', 'int64', ['B', 'T']);
  const { logits: z, params } = m.forward(g, input);
  const program = compile([input, ...params.values()], { z });
  const out = await program.run({ ...m.feeds(), input_ids: { dtype: 'int64', shape: [1, ids.length], data: BigInt64Array.from(ids, BigInt) } });
  await program.dispose();
  return out.z.data as Float32Array;
}

test('8-bit quantisation moves the logits less than 4-bit', async () => {
  const ids = [3, 14, 15, 92, 65, 35, 89, 79];
  const full = await logits(model, ids);
  const err = async (bits: number) => {
    const z = await logits(quantizeModel(model, { bits }), ids);
    return z.reduce((m, v, i) => Math.max(m, Math.abs(v - full[i])), 0);
  };
  const [e8, e4] = [await err(8), await err(4)];
  assert.ok(e8 > 0 && e8 < e4, `8-bit ${e8} vs 4-bit ${e4}`);
});
