// Property: outside the unlearning scope, weights are bit-identical after any run, and some
// weight inside it moves. Over optimiser (AdamW, Sophia, SGD with and without momentum and
// Nesterov) × weight decay × clipping × SAM × adversarial unlearning × accumulation × scope
// kind (pattern, saliency masks by either score, LoRA's frozen base), on a model small enough
// that each run takes a fraction of a second.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import type { LlamaConfig } from '../../src/models/formats/model-config.ts';
import { mergeLora } from '../../src/models/lora.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { unlearnBatches, type OptimizerChoice } from '../../src/unlearn/run.ts';
import { toOptimizer } from '../../src/unlearn/run-options.ts';
import { saliencyMasks } from '../../src/unlearn/saliency.ts';
import type { ScopeOptions } from '../../src/unlearn/scope.ts';
import { tokenBatches } from '../helpers/token-batches.ts';

const V = 40;
const config: LlamaConfig = { ...(presetConfig('tiny', { vocabSize: V, maxPositions: 16 }) as LlamaConfig), hiddenSize: 16, numHeads: 2, numKvHeads: 1, headDim: 8, intermediateSize: 32 };
const model = createModel(config, { seed: 5, initStd: 0.2 });
const dir = mkdtempSync(join(tmpdir(), 'lethe-frozen-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const batches = (n: number, seed: number) => tokenBatches(n, seed, V);
const data = { forget: batches(2, 1), retain: batches(2, 2) };

const optimizer: fc.Arbitrary<OptimizerChoice> = fc.oneof(
  fc.record({ kind: fc.constant('adamw' as const), weightDecay: fc.constantFrom(0, 0.01, 0.1) }),
  fc.record({ kind: fc.constant('sophia' as const), weightDecay: fc.constantFrom(0, 0.01, 0.1) }),
  fc.record({ kind: fc.constant('sgd' as const), weightDecay: fc.constantFrom(0, 0.01, 0.1), momentum: fc.constantFrom(0, 0.9), nesterov: fc.boolean() }).map((o) => ({ ...o, nesterov: o.momentum > 0 && o.nesterov })),
).chain((o) => fc.constantFrom(1, null).map((maxGradNorm) => ({ ...o, maxGradNorm })));

const scope: fc.Arbitrary<ScopeOptions> = fc.oneof(
  fc.constantFrom('mlp\\.down_proj', 'self_attn\\.(q|v)_proj', 'layers\\.1\\.').map((pattern) => ({ kind: 'pattern' as const, pattern })),
  fc.record({ kind: fc.constant('saliency' as const), score: fc.constantFrom('gradient' as const, 'wagle' as const), keep: fc.constantFrom(0.02, 0.05, 0.3), mu: fc.constant(1e-6) }),
  fc.constantFrom(['q_proj', 'v_proj'], ['down_proj']).map((targets) => ({ kind: 'lora' as const, r: 2, alpha: 4, dropout: 0, targets: [...targets] })),
);

const run = fc.record({
  optimizer,
  scope,
  method: fc.constantFrom('graddiff', 'npo'),
  sam: fc.option(fc.constant({ rho: 0.05 }), { nil: undefined }),
  adversarial: fc.option(fc.constant({ layer: 0, eps: 0.5, steps: 1 }), { nil: undefined }),
  accumulation: fc.constantFrom(1, 2),
});

/** The float32 bit patterns, so −0 and +0 (or two NaNs) count as different. */
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Which weights of each parameter the scope may change (1) or must not (0). */
async function inScope(s: ScopeOptions): Promise<Map<string, Float32Array>> {
  const names = model.trainableNames();
  const all = (n: string, v: number) => new Float32Array(model.params.get(n)!.data.length).fill(v);
  if (s.kind === 'pattern') return new Map(names.map((n) => [n, all(n, new RegExp(s.pattern).test(n) ? 1 : 0)]));
  if (s.kind === 'saliency') return saliencyMasks(model, data.forget, data.retain, s, names);
  if (s.kind === 'lora') return new Map(names.map((n) => [n, all(n, s.targets!.some((t) => n.endsWith(`.${t}.weight`)) ? 1 : 0)]));
  return new Map(names.map((n) => [n, all(n, 1)]));
}

let k = 0;
test('outside the scope every weight is bit-identical after unlearning; inside, some move (property, seeded)', async () => {
  const before = new Map([...model.params].map(([n, v]) => [n, Uint32Array.from(bits(v.data as Float32Array))]));
  await fc.assert(
    fc.asyncProperty(run, async (r) => {
      const result = await unlearnBatches(model, data, {
        method: r.method, scope: r.scope, optimizer: r.optimizer, sam: r.sam, adversarial: r.adversarial,
        lr: r.optimizer.kind === 'sgd' ? 0.05 : 1e-2, batchSize: 2, epochs: 2, accumulation: r.accumulation, seed: 3, runDir: join(dir, String(k++)),
      });
      assert.equal(result.loop.stopped, 'done');
      const masks = await inScope(r.scope);
      let moved = 0;
      // Under LoRA the adapters come back beside the base: merged, the weights compare name by name.
      for (const [name, v] of mergeLora(result.model).params) {
        const now = bits(v.data as Float32Array);
        const was = before.get(name)!;
        const mask = masks.get(name);
        for (let i = 0; i < now.length; i++) {
          if (now[i] === was[i]) continue;
          assert.ok(mask && mask[i] > 0, `${name}[${i}] is outside the scope and moved`);
          moved++;
        }
      }
      assert.ok(moved > 0, 'no weight inside the scope moved');
    }),
    {
      seed: 1213,
      numRuns: 16,
      endOnFailure: true,
      examples: [
        // The reported case: `--scope saliency:gradient:0.05 --optimizer sgd` with the decay 0.01 the CLI passed, and momentum.
        [{ optimizer: { kind: 'sgd', weightDecay: 0.01, momentum: 0.9, nesterov: false, maxGradNorm: 1 }, scope: { kind: 'saliency', score: 'gradient', keep: 0.05, mu: 1e-6 }, method: 'graddiff', sam: undefined, adversarial: undefined, accumulation: 1 }],
        [{ optimizer: { kind: 'sgd', weightDecay: 0.1, momentum: 0.9, nesterov: true, maxGradNorm: null }, scope: { kind: 'saliency', score: 'wagle', keep: 0.05, mu: 1e-6 }, method: 'npo', sam: { rho: 0.05 }, adversarial: { layer: 0, eps: 0.5, steps: 1 }, accumulation: 2 }],
        [{ optimizer: { kind: 'sgd', weightDecay: 0.1, momentum: 0.9, nesterov: true, maxGradNorm: 1 }, scope: { kind: 'lora', r: 2, alpha: 4, dropout: 0, targets: ['down_proj'] }, method: 'graddiff', sam: { rho: 0.05 }, adversarial: undefined, accumulation: 1 }],
        [{ optimizer: { kind: 'sophia', weightDecay: 0.1, maxGradNorm: 1 }, scope: { kind: 'pattern', pattern: 'mlp\\.down_proj' }, method: 'graddiff', sam: undefined, adversarial: { layer: 0, eps: 0.5, steps: 1 }, accumulation: 1 }],
      ],
    },
  );
  // The input model itself is never written.
  for (const [n, v] of model.params) assert.deepEqual(bits(v.data as Float32Array), before.get(n), n);
});

test('run options carry Nesterov to the engine and refuse it without momentum', () => {
  assert.deepEqual(toOptimizer({ kind: 'sgd', momentum: 0.9, nesterov: true }, 2), { kind: 'sgd', weightDecay: undefined, maxGradNorm: 1, momentum: 0.9, nesterov: true });
  assert.throws(() => toOptimizer({ kind: 'sgd', nesterov: true }, 2), /Nesterov momentum needs a momentum > 0/);
});
