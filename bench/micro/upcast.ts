// Micro-benchmark (issue 15): bf16 bits (uint16) → float32 inside ONNX Runtime three exact ways
// (BitCast + Cast, lethe's; Cast to uint32 + BitShift + BitCast; Cast to int32 + Mul + BitCast)
// on an [8192, 2048] weight. `node --import tsx bench/micro/upcast.ts`.
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
const { onnx } = onnxProto;
const [K, N] = [8192, 2048];
function model(nodes: onnxProto.onnx.INodeProto[], inits: onnxProto.onnx.ITensorProto[] = []) {
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 10, producerName: 'x', opsetImport: [{ domain: '', version: 26 }],
    graph: { name: 'g', node: nodes, initializer: inits,
      input: [{ name: 'w', type: { tensorType: { elemType: 4, shape: { dim: [{ dimValue: K }, { dimValue: N }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: K }, { dimValue: N }] } } } }] },
  })).finish();
}
const attr = (name: string, v: number | string) => (typeof v === 'number' ? { name, type: 2, i: v } : { name, type: 3, s: new TextEncoder().encode(v) });
const variants: Record<string, Uint8Array> = {
  'BitCast->bf16, Cast->f32 (current)': model([
    { opType: 'BitCast', input: ['w'], output: ['b'], attribute: [attr('to', 16)] },
    { opType: 'Cast', input: ['b'], output: ['y'], attribute: [attr('to', 1)] }]),
  'Cast->u32, BitShift 16, BitCast->f32': model([
    { opType: 'Cast', input: ['w'], output: ['u'], attribute: [attr('to', 12)] },
    { opType: 'BitShift', input: ['u', 's'], output: ['v'], attribute: [attr('direction', 'LEFT')] },
    { opType: 'BitCast', input: ['v'], output: ['y'], attribute: [attr('to', 1)] }],
    [{ name: 's', dataType: 12, dims: [], uint64Data: [] as never, rawData: new Uint8Array(new Uint32Array([16]).buffer) }]),
  'Cast->i32, Mul 65536, BitCast->f32': model([
    { opType: 'Cast', input: ['w'], output: ['u'], attribute: [attr('to', 6)] },
    { opType: 'Mul', input: ['u', 's'], output: ['v'] },
    { opType: 'BitCast', input: ['v'], output: ['y'], attribute: [attr('to', 1)] }],
    [{ name: 's', dataType: 6, dims: [], rawData: new Uint8Array(new Int32Array([65536]).buffer) }]),
};
const w = new Uint16Array(K * N);
for (let i = 0; i < w.length; i++) w[i] = (Math.random() * 65536) & 0xffff & ~0x7f80 | 0x3c00; // finite values, both signs
const expect = new Float32Array(new Uint32Array(Array.from(w.subarray(0, 1000), (b) => b << 16)).buffer);
const threads = Number(process.env.LETHE_THREADS ?? 2);
for (let round = 0; round < 2; round++) {
  for (const [name, bytes] of Object.entries(variants)) {
    const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, enableCpuMemArena: false });
    const feed = { w: new ort.Tensor('uint16', w, [K, N]) };
    let y = (await s.run(feed)).y.data as Float32Array;
    const ok = expect.every((v, i) => Object.is(v, y[i]));
    const times: number[] = [];
    for (let i = 0; i < 5; i++) { const t = performance.now(); y = (await s.run(feed)).y.data as Float32Array; times.push(performance.now() - t); }
    times.sort((a, b) => a - b);
    console.log(`${name.padEnd(40)} median ${times[2].toFixed(1)} ms  exact ${ok}`);
    await s.release();
  }
}
