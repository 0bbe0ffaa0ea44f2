// lethe's side of one scale-suite case, in its own process so that its peak memory is its own:
// `node --import tsx bench/scale-case.ts CASE MODEL_DIR BATCHES_JSON STEPS WARMUP`.
// CASE: lora_npo | full_npo | scoring | generate (bench/scale.ts says what each does).
// The last stdout line is {"tokens_per_second", "step_seconds": [...], "setup_seconds", "session_seconds" (the slowest session creation), "check", "peak_rss_mib"}
// (check: scoring's mean answer log-prob of the first pass, which the PyTorch side computes too).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Batch } from '../src/data/batches.ts';
import { Graph } from '../src/engine/graph.ts';
import * as o from '../src/engine/ops.ts';
import { compile, onCompile } from '../src/engine/program.ts';
import { Generator } from '../src/models/generate.ts';
import { loadModel } from '../src/models/load-model.ts';
import { tokenLogprobs } from '../src/nn/loss.ts';
import { trainTokenizer } from '../src/models/tokenizer/train-tokenizer.ts';
import { unlearnBatches } from '../src/unlearn/run.ts';
import { nextTokenBatch } from './util.ts';

/** What bench/scale.ts writes for both sides: row-major B×T token ids per batch. */
export interface ScaleBatches {
  B: number;
  T: number;
  /** Prompt positions per row: the loss and the scores cover tokens P..T−1. */
  P: number;
  /** New tokens per prompt in the generation case (prompts are the first P tokens). */
  newTokens: number;
  loraDropout: number;
  /** Training cases: both sides recompute each block's activations in the backward pass. */
  gradientCheckpointing: boolean;
  /** The AdamW moments kept in bfloat16 (--optimizer-state bf16) on both sides. */
  optimizerState?: 'bf16';
  forget: number[][];
  retain: number[][];
}

const [which, modelDir, batchesFile, stepsArg, warmupArg] = process.argv.slice(2);
const steps = Number(stepsArg);
const warmup = Number(warmupArg);
const log = (s: string) => process.stderr.write(`lethe ${which}: ${s}\n`);
const data = JSON.parse(readFileSync(batchesFile, 'utf8')) as ScaleBatches;
const { B, T, P } = data;

const toBatch = (ids: number[], index: number): Batch => nextTokenBatch(ids, B, T, P, index);
// Each ONNX Runtime session's creation time (issue 15's goal: ≤ 20 s for any of these programs).
const sessions: { label: string; seconds: number }[] = [];
onCompile((e) => {
  if (!e.done) return;
  sessions.push({ label: e.label, seconds: e.seconds });
  log(`session for ${e.label} created in ${e.seconds.toFixed(1)} s`);
});

const t0 = performance.now();
// Weights stay BF16 as `lethe unlearn` loads them: frozen ones are cast to float32 inside the
// graph, trained ones widened once into the train step's buffers.
const model = await loadModel(modelDir, { checkFinite: false, precision: 'checkpoint' });
log(`loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const times: number[] = [];
let tokens = 0; // tokens of the measured steps
let setup = 0;
let check: number | undefined;

if (which === 'lora_npo' || which === 'full_npo') {
  const n = warmup + steps;
  const dir = mkdtempSync(join(tmpdir(), 'lethe-bench-scale-'));
  const ends: number[] = [];
  const start = performance.now();
  try {
    await unlearnBatches(model, { forget: data.forget.slice(0, n).map(toBatch), retain: data.retain.slice(0, n).map(toBatch) }, {
      method: 'npo',
      lr: which === 'lora_npo' ? 1e-4 : 1e-5,
      optimizer: { kind: 'adamw', weightDecay: 0.01, maxGradNorm: 1, ...(data.optimizerState === 'bf16' ? { stateDtype: 'bfloat16' as const } : {}) },
      scope: which === 'lora_npo' ? { kind: 'lora', r: 8, alpha: 32, dropout: data.loraDropout } : { kind: 'all' },
      batchSize: B,
      epochs: 1,
      runDir: dir,
      gradientCheckpointing: data.gradientCheckpointing,
      onProgress: (p) => {
        ends.push(performance.now());
        // Peak so far, to tell the steps' peak from the end of the run's (merging adapters, copying weights out).
        const hwm = process.resourceUsage().maxRSS / 1024;
        log(`step ${p.step}/${p.steps} ${(((ends.at(-1) ?? 0) - (ends.at(-2) ?? start)) / 1000).toFixed(2)} s, loss ${p.loss.toFixed(4)}, peak RSS so far ${hwm.toFixed(0)} MiB`);
      },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The first `warmup` steps (the first also compiles the step program and runs the reference pass) are left out.
  setup = (ends[warmup - 1] - start) / 1000;
  for (let i = warmup; i < n; i++) times.push((ends[i] - ends[i - 1]) / 1000);
  tokens = times.length * 2 * B * T; // a forget and a retain batch per step
} else if (which === 'scoring') {
  const g = new Graph();
  const x = g.input('input_ids', 'int64', [B, T]);
  const out = model.forward(g, x);
  // log p of each answer token t ∈ [P, T) given the tokens before it, by the function unlearning's
  // losses and reference pass use (nn/loss.ts: over the vocabulary slice by slice, no [B, T, V]).
  const next = o.concat([o.slice(x, { axes: [1], starts: [1], ends: [T] }), o.slice(x, { axes: [1], starts: [0], ends: [1] })], 1); // [B, T]: the token each position predicts
  const logp = o.slice(tokenLogprobs(out.logits, next), { axes: [1], starts: [P - 1], ends: [T - 1] });
  const program = compile([x, ...out.params.values()], { logp });
  const params = model.feeds();
  for (let i = 0; i < warmup + steps; i++) {
    const ids = { dtype: 'int64' as const, shape: [B, T], data: BigInt64Array.from(data.forget[i % data.forget.length], BigInt) };
    const s = performance.now();
    const r = await program.run({ input_ids: ids, ...params });
    const dt = (performance.now() - s) / 1000;
    const mean = (r.logp.data as Float32Array).reduce((a, v) => a + v, 0) / (B * (T - P));
    log(`pass ${i}: ${dt.toFixed(2)} s, mean answer log p ${mean.toFixed(4)}`);
    check ??= mean;
    if (i < warmup) setup += dt;
    else {
      times.push(dt);
      tokens += B * T;
    }
  }
  await program.dispose();
} else if (which === 'generate') {
  // Only the tokenizer's EOS matters (the prompts are ids); the tiny trained one does.
  const tokenizer = trainTokenizer(['the quick brown fox jumps over the lazy dog '.repeat(20)], { vocabSize: 280 });
  const gen = new Generator(model, tokenizer, { batchSize: B, maxLength: Math.min(model.config.maxPositions, 2 * (P + data.newTokens)) });
  for (let i = 0; i < warmup + steps; i++) {
    const row = data.forget[i % data.forget.length];
    const prompts = Array.from({ length: B }, (_, b) => row.slice(b * T, b * T + P));
    const s = performance.now();
    const out = await gen.generateTokens(prompts, { maxNewTokens: data.newTokens });
    const dt = (performance.now() - s) / 1000;
    const made = out.reduce((a, r) => a + r.length, 0);
    log(`generation ${i}: ${made} tokens in ${dt.toFixed(2)} s`);
    if (i < warmup) setup += dt;
    else {
      times.push(dt);
      tokens += made;
    }
  }
  await gen.dispose();
} else {
  throw new Error(`unknown case ${which}`);
}
const total = times.reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ tokens_per_second: tokens / total, check, step_seconds: times, setup_seconds: setup, session_seconds: Math.max(0, ...sessions.map((s) => s.seconds)), peak_rss_mib: process.resourceUsage().maxRSS / 1024 }));
process.exit(0);
