// Totals an ONNX Runtime profile (written with LETHE_PROFILE=prefix) by op type, per run:
// `node scripts/profile-summary.mjs PROFILE.json [top]`.
import { readFileSync } from 'node:fs';

const [file, top = '15'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/profile-summary.mjs PROFILE.json [top]');
  process.exit(2);
}
const events = JSON.parse(readFileSync(file, 'utf8'));
const runs = events.filter((e) => e.name === 'model_run').length || 1;
const byOp = new Map();
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const op = e.args.op_name;
  const cur = byOp.get(op) ?? { us: 0, n: 0 };
  cur.us += e.dur;
  cur.n += 1;
  byOp.set(op, cur);
}
const total = [...byOp.values()].reduce((a, v) => a + v.us, 0);
console.log(`${runs} runs, kernels ${(total / runs / 1000).toFixed(1)} ms per run`);
for (const [op, v] of [...byOp].sort((a, b) => b[1].us - a[1].us).slice(0, Number(top))) {
  console.log(`${op.padEnd(24)} ${(v.us / runs / 1000).toFixed(1).padStart(8)} ms  ${((100 * v.us) / total).toFixed(1).padStart(5)}%  ${v.n / runs} nodes`);
}
