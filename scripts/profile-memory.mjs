// What a program's intermediate tensors hold at their peak, from one run as ONNX Runtime executed
// it: `node scripts/profile-memory.mjs OPTIMISED.onnx PROFILE.json [top]`, with the optimised
// model written by LETHE_DUMP_ONNX=prefix (prefix-<program>.opt.onnx) and the profile by
// LETHE_PROFILE=prefix, both set for the same run. It replays the last run's kernels in order:
// each node's output (its size from the profile) lives until the last node reading it has run.
// Graph inputs and outputs are not counted (they are the caller's buffers), nor ONNX Runtime's
// own workspaces, so the figure is a lower bound of what the run adds to the process.
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';

const [modelFile, profileFile, top = '20'] = process.argv.slice(2);
if (!modelFile || !profileFile) {
  console.error('usage: node scripts/profile-memory.mjs OPTIMISED.onnx PROFILE.json [top]');
  process.exit(2);
}
const graph = onnxProto.onnx.ModelProto.decode(readFileSync(modelFile)).graph;
const readsLeft = new Map();
const inputsOf = new Map();
const outputOf = new Map();
for (const n of graph.node) {
  inputsOf.set(n.name, n.input);
  outputOf.set(n.name, n.output[0]);
  for (const i of n.input) readsLeft.set(i, (readsLeft.get(i) ?? 0) + 1);
}
const graphOutputs = new Set(graph.output.map((o) => o.name));
const events = JSON.parse(readFileSync(profileFile, 'utf8'));
const runs = events.filter((e) => e.name === 'model_run');
if (runs.length === 0) {
  console.error(`${profileFile}: no model_run event (was the program run and then disposed?)`);
  process.exit(2);
}
const last = runs[runs.length - 1];
const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= last.ts && e.ts <= last.ts + last.dur);
const alive = new Map(); // tensor name → { bytes, op }
let now = 0;
let peak = 0;
let peakAt = '';
let atPeak = [];
let unknown = 0;
for (const e of kernels) {
  const name = e.name.slice(0, -'_kernel_time'.length);
  const out = outputOf.get(name);
  if (!out) {
    unknown++;
    continue;
  }
  const bytes = Number(e.args.output_size ?? 0);
  if (!graphOutputs.has(out)) {
    alive.set(out, { bytes, op: e.args.op_name });
    now += bytes;
  }
  if (now > peak) {
    peak = now;
    peakAt = `${name} (${e.args.op_name})`;
    atPeak = [...alive];
  }
  for (const i of inputsOf.get(name)) {
    const left = readsLeft.get(i) - 1;
    readsLeft.set(i, left);
    if (left === 0 && alive.has(i)) {
      now -= alive.get(i).bytes;
      alive.delete(i);
    }
  }
}
const MiB = 2 ** 20;
const byOp = new Map();
for (const [, v] of atPeak) byOp.set(v.op, (byOp.get(v.op) ?? 0) + v.bytes);
console.log(`${kernels.length} kernels in the last run${unknown ? ` (${unknown} not in the model: a different program's profile?)` : ''}; intermediates peak at ${(peak / MiB).toFixed(0)} MiB, when ${peakAt} ran`);
console.log(`by op: ${[...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([op, b]) => `${op} ${(b / MiB).toFixed(0)}`).join(', ')} MiB`);
for (const [n, v] of atPeak.sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(top))) console.log(`${(v.bytes / MiB).toFixed(1).padStart(9)} MiB  ${n} (${v.op})`);
