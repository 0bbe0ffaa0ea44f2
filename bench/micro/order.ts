// Micro-benchmark (issue 15): time and peak RSS of 16 chained MatMuls on bf16 weights (uint16 →
// BitCast → Cast → MatMul) by where the Cast nodes are listed in the ONNX proto: lethe (BitCasts
// first, Casts next to their MatMuls; an earlier lethe order; lethe now widens each weight after its layer's input, onnx-export.ts), first,
// adjacent, reversed. `node --import tsx bench/micro/order.ts first|lethe|adjacent|reversed`.
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
const { onnx } = onnxProto;
const [L, K, M] = [16, 4096, 64];
const order = process.argv[2];
const attr = (name: string, i: number) => ({ name, type: 2, i });
const vi = (name: string, t: number, dims: number[]) => ({ name, type: { tensorType: { elemType: t, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const casts: onnxProto.onnx.INodeProto[] = [];
const mms: onnxProto.onnx.INodeProto[] = [];
for (let i = 0; i < L; i++) {
  casts.push({ opType: 'BitCast', input: [`w${i}`], output: [`b${i}`], attribute: [attr('to', 16)] }, { opType: 'Cast', input: [`b${i}`], output: [`f${i}`], attribute: [attr('to', 1)] });
  mms.push({ opType: 'MatMul', input: [i === 0 ? 'x' : `y${i - 1}`, `f${i}`], output: [i === L - 1 ? 'y' : `y${i}`] });
}
const nodes = order === 'first' ? [...casts, ...mms]
  : order === 'lethe' ? [...casts.filter((_, j) => j % 2 === 0), ...Array.from({ length: L }, (_, i) => [casts[2 * i + 1], mms[i]]).flat()]
  : order === 'reversed' ? [...casts.slice().reverse(), ...mms]
  : Array.from({ length: L }, (_, i) => [casts[2 * i], casts[2 * i + 1], mms[i]]).flat();
const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 10, producerName: 'x', opsetImport: [{ domain: '', version: 26 }],
  graph: { name: 'g', node: nodes, input: [vi('x', 1, [M, K]), ...Array.from({ length: L }, (_, i) => vi(`w${i}`, 4, [K, K]))], output: [vi('y', 1, [M, K])] } })).finish();
const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2, enableCpuMemArena: false, graphOptimizationLevel: 'all' });
const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', new Float32Array(M * K).fill(0.01), [M, K]) };
for (let i = 0; i < L; i++) feeds[`w${i}`] = new ort.Tensor('uint16', new Uint16Array(K * K).fill(0x3c00), [K, K]);
const before = process.resourceUsage().maxRSS / 1024;
let out: Float32Array | null = null;
const t0 = performance.now();
for (let r = 0; r < 2; r++) out = (await s.run(feeds)).y.data as Float32Array;
console.log(`${order}: ${((performance.now() - t0) / 2).toFixed(0)} ms per run, y[0] ${out![0]}, y[last] ${out![out!.length - 1]}`);
console.log(`${order}: weights bf16 ${(L * K * K * 2) / 2 ** 20} MiB, f32 ${(L * K * K * 4) / 2 ** 20} MiB; peak RSS before runs ${before.toFixed(0)} MiB, after ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
