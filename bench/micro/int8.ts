// Micro-benchmark (issue 15): fp32 MatMul vs ONNX Runtime's int8 DynamicQuantizeMatMul (com.microsoft;
// weights int8 per output column, activations quantized per run) for x [M, 2048] · W [2048, 8192],
// with the int8 result's error against fp32. `M=4 node --import tsx bench/micro/int8.ts`.
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
const { onnx } = onnxProto;
const [M, K, N] = [Number(process.env.M ?? 512), 2048, 8192];
const vi = (name: string, t: number, dims: number[]) => ({ name, type: { tensorType: { elemType: t, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const mk = (nodes: onnxProto.onnx.INodeProto[], inputs: ReturnType<typeof vi>[]) => onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, producerName: 'x',
  opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
  graph: { name: 'g', node: nodes, input: inputs, output: [vi('y', 1, [M, N])] } })).finish();
const fp32 = mk([{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }], [vi('x', 1, [M, K]), vi('w', 1, [K, N])]);
const int8 = mk([{ opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', input: ['x', 'q', 's', 'z'], output: ['y'] }], [vi('x', 1, [M, K]), vi('q', 3, [K, N]), vi('s', 1, [N]), vi('z', 3, [N])]);
const x = Float32Array.from({ length: M * K }, () => Math.random() * 2 - 1);
const w = Float32Array.from({ length: K * N }, () => (Math.random() * 2 - 1) * 0.035);
const s = new Float32Array(N);
for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) s[n] = Math.max(s[n], Math.abs(w[k * N + n]));
for (let n = 0; n < N; n++) s[n] /= 127;
const q = new Int8Array(K * N);
for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) q[k * N + n] = Math.round(w[k * N + n] / s[n]);
const opts = { intraOpNumThreads: 2, enableCpuMemArena: false, graphOptimizationLevel: 'all' as const };
const a = await ort.InferenceSession.create(fp32, opts);
const b = await ort.InferenceSession.create(int8, opts);
const fa = { x: new ort.Tensor('float32', x, [M, K]), w: new ort.Tensor('float32', w, [K, N]) };
const fb = { x: new ort.Tensor('float32', x, [M, K]), q: new ort.Tensor('int8', q, [K, N]), s: new ort.Tensor('float32', s, [N]), z: new ort.Tensor('int8', new Int8Array(N), [N]) };
const ya = (await a.run(fa)).y.data as Float32Array;
const yb = (await b.run(fb)).y.data as Float32Array;
let num = 0, den = 0, maxErr = 0;
for (let i = 0; i < ya.length; i++) { num += (ya[i] - yb[i]) ** 2; den += ya[i] ** 2; maxErr = Math.max(maxErr, Math.abs(ya[i] - yb[i])); }
for (let round = 0; round < 3; round++) {
  for (const [name, sess, feeds] of [['fp32 MatMul', a, fa], ['int8 DynamicQuantizeMatMul', b, fb]] as const) {
    const ts: number[] = [];
    for (let i = 0; i < 3; i++) { const t = performance.now(); await sess.run(feeds as never); ts.push(performance.now() - t); }
    ts.sort((p, r) => p - r);
    console.log(`M=${M} ${name.padEnd(28)} ${ts[1].toFixed(1)} ms  ${((2 * M * K * N) / ts[1] / 1e6).toFixed(1)} GFLOP/s`);
  }
}
console.log(`int8 vs fp32: relative RMS error ${Math.sqrt(num / den).toExponential(2)}, max abs error ${maxErr.toExponential(2)} (|y| rms ${Math.sqrt(den / ya.length).toFixed(3)})`);
