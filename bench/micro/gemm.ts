// Micro-benchmark (issue 15): y = x·W for x [M, 2048] (M from the environment, default 512), W
// 2048→8192, in three layouts: MatMul on W [in, out] (lethe's), Gemm transB on W [out, in] (the HF
// layout), MatMul on Transpose(W [out, in]). `M=4 node --import tsx bench/micro/gemm.ts`.
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
const { onnx } = onnxProto;
const [M, K, N] = [Number(process.env.M ?? 512), 2048, 8192];
const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const attr = (name: string, i: number) => ({ name, type: 2, i });
function model(nodes: onnxProto.onnx.INodeProto[], wShape: number[]) {
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, producerName: 'x', opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'g', node: nodes, input: [vi('x', [M, K]), vi('w', wShape)], output: [vi('y', [M, N])] } })).finish();
}
const variants: [string, Uint8Array, number[]][] = [
  ['MatMul x·W, W [in,out] (lethe)', model([{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }], [K, N]), [K, N]],
  ['Gemm transB, W [out,in] (HF layout)', model([{ opType: 'Gemm', input: ['x', 'w'], output: ['y'], attribute: [attr('transB', 1)] }], [N, K]), [N, K]],
  ['MatMul x·Transpose(W)', model([{ opType: 'Transpose', input: ['w'], output: ['wt'] }, { opType: 'MatMul', input: ['x', 'wt'], output: ['y'] }], [N, K]), [N, K]],
];
const x = Float32Array.from({ length: M * K }, () => Math.random() - 0.5);
const w = Float32Array.from({ length: K * N }, () => Math.random() - 0.5);
for (let round = 0; round < 2; round++) {
  for (const [name, bytes, shape] of variants) {
    const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: Number(process.env.LETHE_THREADS ?? 2), enableCpuMemArena: false, graphOptimizationLevel: 'all' });
    const feed = { x: new ort.Tensor('float32', x, [M, K]), w: new ort.Tensor('float32', w, shape) };
    await s.run(feed);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) { const t = performance.now(); await s.run(feed); times.push(performance.now() - t); }
    times.sort((a, b) => a - b);
    console.log(`M=${M} ${name.padEnd(38)} median ${times[2].toFixed(1)} ms  ${((2 * M * K * N) / times[2] / 1e6).toFixed(1)} GFLOP/s`);
    await s.release();
  }
}
