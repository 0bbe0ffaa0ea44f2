// The float32 widening of 16-bit frozen weights (bfloat16: BitCast + Cast; float16: Cast) is
// emitted layer by layer, each BitCast just before the node that first reads it (onnx-export.ts),
// so a layer's widened copy need not exist before the layer runs; and the program's results are
// exactly those of the same weights widened on the host. (Measured on the SmolLM2-360M shape,
// BF16 scoring and LoRA NPO: listing every Cast first instead changed peak RSS by < 5%, once the
// model code widens each weight after its layer's input, ops.after.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import { Graph } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { compile } from '../../src/engine/program.ts';
import { Rng } from '../../src/engine/random.ts';

/** bfloat16 bits of each value (truncation) and the float32 values those bits stand for. */
function bf16(values: Float32Array): { bits: Uint16Array; widened: Float32Array } {
  const u32 = new Uint32Array(values.buffer.slice(0));
  const bits = Uint16Array.from(u32, (u) => u >>> 16);
  const widened = new Float32Array(Uint32Array.from(bits, (b) => b << 16).buffer);
  return { bits, widened };
}

const [T, C, L] = [5, 16, 3];

function chain(g: Graph, dtype: 'bfloat16' | 'float32') {
  const x = g.input('x', 'float32', [T, C]);
  const ws = Array.from({ length: L }, (_, i) => g.input(`w${i}`, dtype, [C, C]));
  let h = x;
  for (const w of ws) h = o.tanh(o.matmul(h, dtype === 'float32' ? w : o.cast(w, 'float32')));
  return { x, ws, y: h };
}

test('bfloat16 weights: each layer\'s BitCast and Cast come after the previous layer\'s MatMul, and the results equal the float32 widening', async () => {
  const rng = new Rng(5);
  const x = { dtype: 'float32' as const, shape: [T, C], data: rng.normalArray(T * C, 1) };
  const weights = Array.from({ length: L }, () => bf16(rng.normalArray(C * C, 0.3)));

  const g16 = new Graph();
  const a = chain(g16, 'bfloat16');
  const p16 = compile([a.x, ...a.ws], { y: a.y });
  const model = onnxProto.onnx.ModelProto.decode(p16.toOnnx());
  const ops = model.graph!.node!.map((n) => n.opType);
  const at = (op: string) => ops.flatMap((o, i) => (o === op ? [i] : []));
  const [bitcasts, casts, matmuls] = [at('BitCast'), at('Cast'), at('MatMul')];
  assert.equal(bitcasts.length, L, ops.join(' '));
  assert.equal(matmuls.length, L, ops.join(' '));
  for (let i = 0; i < L; i++) {
    assert.ok(bitcasts[i] < casts[i] && casts[i] < matmuls[i], `layer ${i}: ${ops.join(' ')}`);
    if (i > 0) assert.ok(bitcasts[i] > matmuls[i - 1], `layer ${i}'s widening waits for layer ${i - 1}: ${ops.join(' ')}`);
  }

  const feeds16: Record<string, { dtype: 'bfloat16'; shape: number[]; data: Uint16Array }> = {};
  weights.forEach((w, i) => (feeds16[`w${i}`] = { dtype: 'bfloat16', shape: [C, C], data: w.bits }));
  const y16 = (await p16.run({ x, ...feeds16 })).y.data as Float32Array;
  await p16.dispose();

  const g32 = new Graph();
  const b = chain(g32, 'float32');
  const p32 = compile([b.x, ...b.ws], { y: b.y });
  const feeds32: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
  weights.forEach((w, i) => (feeds32[`w${i}`] = { dtype: 'float32', shape: [C, C], data: w.widened }));
  const y32 = (await p32.run({ x, ...feeds32 })).y.data as Float32Array;
  await p32.dispose();
  assert.deepEqual(y16, y32);
  assert.ok(y32.some((v) => v !== 0));
});
