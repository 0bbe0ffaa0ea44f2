// The peak-memory estimate (unlearn/memory-estimate.ts) against the measured peak resident memory
// (VmHWM) of real NPO runs in child processes, for two shapes of the tiny preset; and a run the
// estimate says cannot fit is refused by `lethe unlearn` with one line, before anything is written.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LETHE_MMAP_THRESHOLD } from '../../src/io/memory.ts';
import { f32ToBf16 } from '../../src/models/formats/half-float.ts';
import { createModel, Model } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { checkMemoryFits, describeEstimate, estimateRunMemory, estimateTrainingMemory } from '../../src/unlearn/memory-estimate.ts';
import { forgetFile, lethe, tinyModelDir } from '../helpers/tiny-model.ts';

const CHILD = fileURLToPath(new URL('./memory-estimate-child.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lethe-memest-'));
after(() => rmSync(root, { recursive: true, force: true }));
const linux = existsSync('/proc/self/status');

for (const [vocab, batch, seq, scope] of [[16000, 16, 64, 'all'], [4096, 8, 256, 'lora']] as const) {
  test(`the estimate is within 25% of the measured peak: tiny preset, vocab ${vocab}, batch ${batch} × ${seq}, scope ${scope}`, { skip: !linux && 'needs /proc' }, () => {
    // The malloc setting `lethe` runs with (bin/lethe.js), which the estimate is fitted to.
    const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: LETHE_MMAP_THRESHOLD };
    const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, String(vocab), String(batch), String(seq), scope, join(root, `run-${vocab}`)], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    const { peak, estimate } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { peak: number; estimate: number };
    assert.ok(peak > 300 * 2 ** 20, `the run should be large enough to measure: peak ${peak}`);
    const ratio = estimate / peak;
    assert.ok(ratio > 0.75 && ratio < 1.25, `estimate ${(estimate / 2 ** 20).toFixed(0)} MiB vs measured ${(peak / 2 ** 20).toFixed(0)} MiB (${ratio.toFixed(2)})`);
  });
}

test('the estimate counts one head slice for label-only losses, and at a step\'s end the copies of its outputs', () => {
  const config = { ...presetConfig('tiny', { vocabSize: 128256, maxPositions: 256 }), hiddenSize: 2048, intermediateSize: 8192, numLayers: 2 };
  const base = { config, weightBytes: 1e9, trainable: 1e5, optimizerSlots: 2, batchSize: 4, seqLength: 128, passes: 2 };
  const full = estimateTrainingMemory(base);
  const sliced = estimateTrainingMemory({ ...base, fullLogits: false });
  // 8192 of the 128256 logits per token (one 64 MiB slice of 2048-wide rows), 4 bytes × 2.72 values each, 2 × 512 tokens.
  const perToken = 4 * 2.72 * (128256 - 8192);
  assert.ok(Math.abs(full.parts.activations - sliced.parts.activations - 2 * 512 * perToken) < 1e3, `${full.parts.activations - sliced.parts.activations}`);
  assert.equal(sliced.peakAt, 'step');
  assert.equal(sliced.total, sliced.parts.base + 1e9 + 4 * 1e5 * 3 + sliced.parts.activations);
  // Many trained values, few activations: onnxruntime-node's copies of the updated parameters and
  // both moments (3 × 4 bytes each) outweigh the gradients and activations of the step.
  const wide = estimateTrainingMemory({ ...base, trainable: 1e9, fullLogits: false, batchSize: 1, seqLength: 8 });
  assert.equal(wide.peakAt, 'outputs');
  assert.equal(wide.parts.stepOutputs, 12e9);
  assert.equal(wide.total, wide.parts.base + 1e9 + 8e9 + 12e9);
  assert.match(describeEstimate(wide), /the peak is at a step's end, where the copies of its outputs \(11\.2 GiB\)/);
  // Moments in bfloat16: 2 bytes each, between steps and in the outputs' copies; parameters stay 4.
  const halved = estimateTrainingMemory({ ...base, trainable: 1e9, fullLogits: false, batchSize: 1, seqLength: 8, stateBytes: 2 });
  assert.equal(halved.parts.stepOutputs, 8e9);
  assert.equal(halved.total, halved.parts.base + 1e9 + 4e9 + 8e9);
});

test('a trained weight counts twice (the input\'s copy and the step\'s float32 one); LoRA over BF16 adds only the adapters', () => {
  const config = presetConfig('tiny', { vocabSize: 512, maxPositions: 64 });
  const f32 = createModel(config, { seed: 1 });
  const params = new Map([...f32.params].map(([n, t]) => [n, t.shape.length === 2 ? { dtype: 'bfloat16' as const, shape: t.shape, data: f32ToBf16(t.data as Float32Array) } : t]));
  const bf16 = new Model(config, params);
  const held = (m: Model) => [...m.params.values()].reduce((a, t) => a + t.data.byteLength, 0);
  const shape = { optimizer: { kind: 'adamw' }, batchSize: 1, seqLength: 1, passes: 2, fullLogits: false };
  const all = { ...shape, scope: { kind: 'all' as const } };
  assert.equal(estimateRunMemory(bf16, all).parts.weights, held(bf16) + 4 * f32.size);
  assert.equal(estimateRunMemory(f32, all).parts.weights, 2 * held(f32));
  const lora = estimateRunMemory(bf16, { ...shape, scope: { kind: 'lora' as const, r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'down_proj'] } });
  const adapters = lora.parts.trainingState / (4 * 3); // slots 2 + gradient 1 per adapter value
  assert.ok(adapters > 0);
  assert.equal(lora.parts.weights, held(bf16) + 4 * adapters);
});

before(async () => {
  await tinyModelDir(join(root, 'model'));
  forgetFile(join(root, 'f.jsonl'), 4);
  forgetFile(join(root, 'f32.jsonl'), 32);
});

test('a run estimated not to fit is refused (exit 2, one line: estimate, limit, what to change) and writes nothing', () => {
  // With room, the run starts and says its estimate. Batches of 16 make the run's own part
  // (about 0.05 GB) large against the variation of the runtime part between two processes.
  const args = ['unlearn', '--model', 'model', '--method', 'ga', '--forget', 'f32.jsonl', '--overlong', 'skip', '--batch-size', '16', '--epochs', '1'];
  const ok = lethe(root, ...args, '--max-memory', '64', '--out', 'run');
  assert.equal(ok.status, 0, ok.stderr);
  const said = /memory estimate (0\.\d+) GiB .*runtime (0\.\d+) GiB\) at peak; 64\.0 GiB of --max-memory/.exec(ok.stdout);
  assert.ok(said, ok.stdout);
  const [total, runtime] = [Number(said[1]), Number(said[2])];
  assert.ok(total - runtime >= 0.03, `the run's own part is ${total - runtime} GB`);
  // A limit between the runtime and the whole: refused, naming what to change.
  const limit = (runtime + 0.6 * (total - runtime)).toFixed(3);
  const r = lethe(root, ...args, '--max-memory', limit, '--out', 'refused');
  assert.equal(r.status, 2, r.stderr);
  // One line besides the notice of the two items longer than the context (skipped).
  assert.equal(r.stderr.trim().split('\n').filter((l) => !l.startsWith('lethe unlearn: --overlong skip')).length, 1, r.stderr);
  assert.match(r.stderr, /this run needs about 0\.\d\d GiB \(weights .* GiB, training state .* GiB, activations .* GiB, runtime .* GiB\) at peak, more than the 0\.\d+ GiB of --max-memory; try a smaller --batch-size, --scope lora, --gradient-checkpointing, --optimizer-state bf16, a shorter --context-length/);
  assert.equal(existsSync(join(root, 'refused')), false);
  // A limit below the runtime alone: no change to the run would help, and the line says so.
  const low = lethe(root, ...args, '--max-memory', '0.001', '--out', 'refused');
  assert.equal(low.status, 2, low.stderr);
  assert.match(low.stderr, /the runtime alone \(Node, ONNX Runtime, the loaded data\) is more than the 0\.001 GiB of --max-memory: give --max-memory (0\.\d+) GiB or more$/m);
  // The amount it names is the estimate, rounded up: enough for this run.
  const enough = Number(/give --max-memory (0\.\d+) GiB/.exec(low.stderr)![1]);
  const estimated = Number(/needs about (0\.\d+) GiB/.exec(low.stderr)![1]);
  assert.ok(enough >= estimated && enough - estimated <= 0.0101, `${enough} for an estimate of ${estimated}`);
  assert.equal(existsSync(join(root, 'refused')), false);
});

test('lethe train --model estimates its peak too: said when it fits, refused before anything is written when not, without a --scope hint', () => {
  const args = ['train', '--model', 'model', '--data', 'f.jsonl', '--batch-size', '16', '--accumulation', '1', '--epochs', '1'];
  const ok = lethe(root, ...args, '--max-memory', '64', '--out', 'tuned');
  assert.equal(ok.status, 0, ok.stderr);
  const said = /lethe train: memory estimate (0\.\d+) GiB .*runtime (0\.\d+) GiB\) at peak; 64\.0 GiB of --max-memory/.exec(ok.stdout);
  assert.ok(said, ok.stdout);
  const [total, runtime] = [Number(said[1]), Number(said[2])];
  assert.ok(total > runtime, `${total} GB in all, ${runtime} GB runtime`);
  const limit = (runtime + 0.5 * (total - runtime)).toFixed(3);
  const r = lethe(root, ...args, '--max-memory', limit, '--out', 'refused-train');
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /this run needs about 0\.\d+ GiB \(weights .*\) at peak, more than the 0\.\d+ GiB of --max-memory; try a smaller --batch-size, --gradient-checkpointing, --optimizer-state bf16, a shorter --context-length/);
  assert.doesNotMatch(r.stderr, /--scope/);
  assert.equal(existsSync(join(root, 'refused-train')), false);
  // What the run itself would refuse is refused before the estimate and before anything is written.
  for (const [extra, why] of [[['--data', 'f32.jsonl'], /f32\.jsonl:9: 131 tokens .* exceed the context length 128 \(fine-tuning keeps every item whole: a longer --context-length, up to the model's maximum, or a shorter item\)$/m], [['--context-length', '4096'], /--context-length 4096: longer than the model's maximum of 128 positions/]] as const) {
    const bad = lethe(root, ...args, ...extra, '--out', 'refused-input');
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, why);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.equal(bad.stdout, '', 'no estimate line for a run that cannot start');
    assert.equal(existsSync(join(root, 'refused-input')), false);
  }
});

test('a refusal never shows the estimate and the limit as the same number', () => {
  const GB = 2 ** 30;
  const estimate = { total: 0.2031 * GB, peakAt: 'step' as const, parts: { base: 0.17 * GB, weights: 0.01 * GB, trainingState: 0.003 * GB, activations: 0.02 * GB, stepOutputs: 0 } };
  assert.throws(() => checkMemoryFits(estimate, { bytes: 0.2 * GB, source: '--max-memory' }, { kind: 'all' }), (e: Error) => /needs about 0\.203 GiB \(weights .* more than the 0\.200 GiB of --max-memory/.test(e.message));
  assert.throws(() => checkMemoryFits({ ...estimate, total: 0.5 * GB }, { bytes: 0.2 * GB, source: '--max-memory' }, { kind: 'all' }), (e: Error) => /needs about 0\.50 GiB \(.* more than the 0\.20 GiB/.test(e.message));
  assert.doesNotThrow(() => checkMemoryFits(estimate, { bytes: 0.3 * GB, source: '--max-memory' }, { kind: 'all' }));
});
