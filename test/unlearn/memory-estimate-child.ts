// Child of memory-estimate.test.ts: a real NPO unlearning run (retain NLL term, AdamW) on a model
// of the 'tiny' preset in the shape given by argv (vocab, batch, seq, scope), then the peak
// resident memory of this process (VmHWM) and lethe's estimate for the same run, as JSON.
import { readFileSync } from 'node:fs';
import { Rng } from '../../src/engine/random.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { estimateRunMemory, processMemory } from '../../src/unlearn/memory-estimate.ts';
import { unlearnBatches } from '../../src/unlearn/run.ts';
import type { ScopeOptions } from '../../src/unlearn/scope.ts';

const [vocab, batchSize, seq] = process.argv.slice(2, 5).map(Number);
const scope: ScopeOptions = process.argv[5] === 'lora' ? { kind: 'lora', r: 8, alpha: 32, dropout: 0 } : { kind: 'all' };
const config = presetConfig((process.argv[7] ?? 'tiny') as 'tiny', { vocabSize: vocab, maxPositions: Math.max(seq, 64) });
const model = createModel(config, { seed: 1 });
function batches(n: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, k) => {
    const ids = BigInt64Array.from({ length: batchSize * seq }, () => BigInt(1 + rng.int(vocab - 1)));
    const labels = BigInt64Array.from({ length: batchSize * seq }, (_, i) => (i % seq < seq - 1 ? ids[i + 1] : 0n));
    const targetMask = Float32Array.from({ length: batchSize * seq }, (_, i) => (i % seq >= seq / 2 ? 1 : 0));
    return { batchSize, seqLength: seq, inputIds: ids, labels, targetMask, lengths: new Int32Array(batchSize).fill(seq), promptLengths: new Int32Array(batchSize).fill(seq / 2), indices: Int32Array.from({ length: batchSize }, (_, i) => k * batchSize + i) };
  });
}
const optimizer = { kind: 'adamw' as const, weightDecay: 0.01, maxGradNorm: 1 };
// What the process holds before the run, as the command passes it (pipeline/unlearning-inputs.ts).
const before = processMemory();
await unlearnBatches(model, { forget: batches(2, 1), retain: batches(2, 2) }, { method: 'npo', scope, optimizer, lr: 1e-4, batchSize, epochs: 1, seed: 1, runDir: process.argv[6] });
const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const estimate = estimateRunMemory(model, { scope, optimizer, batchSize, seqLength: seq, passes: 2 }, before);
console.log(JSON.stringify({ peak, estimate: estimate.total, parts: estimate.parts }));
