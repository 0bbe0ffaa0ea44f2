// RMU's published recipe as `--preset wmdp` (src/unlearn/methods/rmu.ts RMU_WMDP_PRESET): the
// block taken relative to depth (layer_id 7 of Zephyr-7B's 32 blocks), only the down-projections
// of blocks ℓ−2..ℓ updated, c = 6.5, α = 1200, lr 5e-5, one pass of batches of 4 without weight
// decay, clipping or schedule, at most 150 batches, texts cut at 512 tokens. Values checked
// against the WMDP code's arguments by hand (REFERENCE.md; rmu/unlearn.py).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModelAndTokenizer } from '../../src/models/load-model.ts';
import type { Model } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { layerAtDepth, RMU_WMDP_PRESET } from '../../src/unlearn/methods/rmu.ts';
import { resolveMethodFor, resolveUnlearnOptions, unlearnSchema } from '../../src/pipeline/options/unlearn.ts';
import { unlearningInputs } from '../../src/pipeline/unlearning-inputs.ts';
import { tinyModelDir } from '../helpers/tiny-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-rmu-preset-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const modelDir = join(dir, 'model');
before(async () => {
  await tinyModelDir(modelDir, 3);
});

/** A model record with only a config, for what resolves against the config alone. */
const withLayers = (numLayers: number) => ({ config: { ...presetConfig('tiny', { vocabSize: 64 }), numLayers } }) as unknown as Model;

test('the WMDP layer relative to depth: block 7 of 32, ⌊7L/32⌋ otherwise', () => {
  assert.equal(layerAtDepth(32, 7 / 32), 7);
  assert.equal(layerAtDepth(12, 7 / 32), 2); // 2.625
  assert.equal(layerAtDepth(4, 7 / 32), 0); // 0.875
  assert.equal(layerAtDepth(2, 0.5), 1); // the middle, the default
  assert.equal(layerAtDepth(3, 0.5), 1);
  assert.equal(layerAtDepth(1, 7 / 32), 0);
});

const user = (extra: Record<string, unknown> = {}) => unlearnSchema.parse({ model: modelDir, method: 'rmu', preset: 'wmdp', forget: 'f.txt', out: 'o', ...extra });

test('--preset wmdp: the published method and training options; options given beside it win', () => {
  const r = resolveUnlearnOptions(user());
  assert.equal(r.preset, 'wmdp');
  assert.deepEqual({ c: r.methodOptions.steeringCoef, alpha: r.methodOptions.alpha, depth: r.methodOptions.layerDepth, layer: r.methodOptions.layer }, { c: 6.5, alpha: 1200, depth: 7 / 32, layer: -1 });
  assert.deepEqual(
    { lr: r.lr, epochs: r.epochs, batchSize: r.batchSize, accumulation: r.accumulation, schedule: r.schedule, warmupSteps: r.warmupSteps, weightDecay: r.weightDecay, maxGradNorm: r.maxGradNorm },
    { lr: 5e-5, epochs: 1, batchSize: 4, accumulation: 1, schedule: 'constant', warmupSteps: 0, weightDecay: 0, maxGradNorm: 0 },
  );
  const o = resolveUnlearnOptions(user({ lr: 1e-3, methodOptions: { alpha: 10 } }));
  assert.equal(o.lr, 1e-3);
  assert.equal(o.methodOptions.alpha, 10);
  assert.equal(o.methodOptions.steeringCoef, 6.5);
  // Without the preset, RMU keeps its own defaults (middle block, α 100) and lethe unlearn's recipe.
  const plain = resolveUnlearnOptions(unlearnSchema.parse({ model: modelDir, method: 'rmu', forget: 'f.txt', out: 'o' }));
  assert.deepEqual({ alpha: plain.methodOptions.alpha, depth: plain.methodOptions.layerDepth, lr: plain.lr, epochs: plain.epochs }, { alpha: 100, depth: 0.5, lr: 5e-5, epochs: 5 });
  assert.equal(plain.preset, undefined);
});

test('--preset wmdp with another method is refused, naming the option', () => {
  const r = unlearnSchema.safeParse({ model: modelDir, method: 'npo', preset: 'wmdp', forget: 'f.txt', out: 'o' });
  assert.equal(r.success, false);
  assert.match(r.error!.issues[0].message, /--preset wmdp is RMU's published recipe: use it with --method rmu \(got --method npo\)/);
  assert.deepEqual(r.error!.issues[0].path, ['preset']);
});

test('--preset wmdp resolves block 7 and down-projections 5, 6, 7 on a 32-block model, block 0 alone on a 4-block one', () => {
  const deep = resolveUnlearnOptions(user());
  const { scope } = resolveMethodFor(deep, withLayers(32));
  assert.equal(deep.methodOptions.layer, 7);
  assert.deepEqual(scope, { kind: 'pattern', pattern: '^(model\\.layers\\.5\\.mlp\\.down_proj\\.weight|model\\.layers\\.6\\.mlp\\.down_proj\\.weight|model\\.layers\\.7\\.mlp\\.down_proj\\.weight)$' });
  const shallow = resolveUnlearnOptions(user());
  assert.deepEqual(resolveMethodFor(shallow, withLayers(4)).scope, { kind: 'pattern', pattern: '^(model\\.layers\\.0\\.mlp\\.down_proj\\.weight)$' });
  // Without the preset: the middle block (2 of 4) and blocks 0..2.
  const middle = resolveUnlearnOptions(unlearnSchema.parse({ model: modelDir, method: 'rmu', forget: 'f.txt', out: 'o' }));
  resolveMethodFor(middle, withLayers(4));
  assert.equal(middle.methodOptions.layer, 2);
});

test('--preset wmdp reads at most 150 batches of the forget corpus, in order, and cuts long texts instead of refusing them', async () => {
  const { model, tokenizer } = await loadModelAndTokenizer(modelDir);
  const lines = Array.from({ length: 700 }, (_, i) => `document ${i} of the forget corpus`);
  lines[3] = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '); // longer than the tiny model's 128 positions
  writeFileSync(join(dir, 'forget.txt'), lines.join('\n') + '\n');
  writeFileSync(join(dir, 'retain.txt'), 'a retain text\nanother retain text\n');
  const notices: string[] = [];
  const r = resolveUnlearnOptions(user({ forget: join(dir, 'forget.txt'), retain: join(dir, 'retain.txt') }));
  const inputs = unlearningInputs(r, model, tokenizer, (l) => notices.push(l));
  assert.equal(inputs.forget.length, RMU_WMDP_PRESET.maxBatches * 4);
  assert.equal(inputs.forget[0].target.startsWith('document 0 '), true);
  assert.equal(inputs.forget[599].target.startsWith('document 599 '), true);
  assert.ok(inputs.forget[3].target.length < lines[3].length, 'the long text is cut');
  assert.ok(notices.some((n) => /^--preset wmdp: the forget set's first 600 of 700 documents \(150 batches of 4/.test(n)), notices.join('\n'));
  assert.ok(notices.some((n) => /^--overlong truncate: forget: 1 truncated/.test(n)), notices.join('\n'));
  // Without the preset the long text is refused (the default --overlong error), naming its line.
  const plain = resolveUnlearnOptions(unlearnSchema.parse({ model: modelDir, method: 'rmu', forget: join(dir, 'forget.txt'), retain: join(dir, 'retain.txt'), out: 'o' }));
  assert.throws(() => unlearningInputs(plain, model, tokenizer), /forget\.txt:4/);
});
