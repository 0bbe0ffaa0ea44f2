// Every command reads its models through one loader: `--model` is a folder, a llama2.c `.bin`
// checkpoint (stories260K.bin with tok512.bin beside it, as llama2.c ships it) or a Hub name
// `org/name[@revision]` found in the Hub cache (a cache tree this test makes; HF_HUB_OFFLINE=1,
// so nothing is downloaded). A Hub name that is not cached, offline, and a tokenizer larger than
// the model's vocabulary are one line and exit 2; `--out` inside a cached snapshot is refused
// like `--out` inside any input model.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '../../src/models/generate.ts';
import { loadModelAndTokenizer } from '../../src/models/load-model.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { guardInputs } from '../helpers/input-guard.ts';
import { fixtureDir } from './golden.ts';
import { tofuTokenizer } from './tokenizer/trained.ts';

const BIN = fileURLToPath(new URL('../../bin/lethe.js', import.meta.url));
const STORIES = fixtureDir('stories260K');
const STORIES_BIN = join(STORIES, 'stories260K.bin');
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

function lethe(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env } });
}

/** A Hub cache tree as huggingface_hub writes it: refs/main → the commit, snapshots/<commit>/ holding the files. */
async function hubCache(root: string, repo: string, fill: (snapshot: string) => Promise<void>): Promise<string> {
  const folder = join(root, `models--${repo.replace('/', '--')}`);
  const snapshot = join(folder, 'snapshots', COMMIT);
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(join(folder, 'refs'), { recursive: true });
  writeFileSync(join(folder, 'refs', 'main'), COMMIT);
  await fill(snapshot);
  return snapshot;
}

test('lethe generate --model stories260K.bin: run.c-exact greedy text, the file, its folder or a named tokenizer', async () => {
  const { model, tokenizer } = await loadModelAndTokenizer(STORIES_BIN);
  const [expected] = await generate(model, tokenizer, ['Once upon a time'], { maxNewTokens: 24 });
  assert.ok(expected.length > 20, 'the model continues the story');
  const unchanged = guardInputs(STORIES);
  for (const args of [['--model', STORIES_BIN], ['--model', STORIES], ['--model', STORIES_BIN, '--tokenizer', join(STORIES, 'tok512.bin')]]) {
    const r = lethe(['generate', ...args, '--prompt', 'Once upon a time', '--max-new-tokens', '24']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${expected}\n`);
  }
  // run.c's recorded text of this prompt starts with the same continuation (the golden test checks all of it).
  const runc = JSON.parse(readFileSync(join(STORIES, 'runc-greedy.json'), 'utf8')) as { cases: { prompt: string; text: string }[] };
  assert.ok(runc.cases[0].text.startsWith(`Once upon a time${expected}`), `${runc.cases[0].text} / ${expected}`);
  unchanged();
});

test('lethe eval and lethe unlearn --model stories260K.bin: tok512.bin found beside it; the unlearned folder carries it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-sources-'));
  try {
    const forget = join(root, 'forget.txt');
    const retain = join(root, 'retain.txt');
    writeFileSync(forget, 'Zorblax the dragon had seven tails and a silver hat.\nEvery night Zorblax sang to the stars in the sky.\n');
    writeFileSync(retain, 'There was a little girl named Lily. She liked to play in the park.\nThere was a boy named Tom. He had a red ball and a big dog.\n');
    const unchanged = guardInputs(STORIES);

    const ev = lethe(['eval', '--model', STORIES_BIN, '--benchmark', 'text', '--forget', forget, '--holdout', retain, '--no-generate', '-o', join(root, 'eval.json')]);
    assert.equal(ev.status, 0, ev.stderr);
    const results = JSON.parse(readFileSync(join(root, 'eval.json'), 'utf8')) as { model: { name: string }; metrics: { mia: { minKAuc: { value: number | null } } } };
    assert.equal(results.model.name, 'stories260K.bin');
    assert.equal(typeof results.metrics.mia.minKAuc.value, 'number');

    const run = join(root, 'run');
    const un = lethe(['unlearn', '--model', STORIES_BIN, '--method', 'graddiff', '--forget', forget, '--retain', retain, '--epochs', '1', '--batch-size', '2', '--accumulation', '1', '-o', run]);
    assert.equal(un.status, 0, un.stderr);
    assert.ok(existsSync(join(run, 'model', 'tokenizer.bin')), 'the llama2.c tokenizer is saved beside the unlearned weights');
    const gen = lethe(['generate', '--model', join(run, 'model'), '--prompt', 'Lily', '--max-new-tokens', '4']);
    assert.equal(gen.status, 0, gen.stderr);
    assert.notEqual(gen.stdout.trim(), '');

    // --out in the folder the model was named by is refused (its folder is the input).
    const inside = lethe(['unlearn', '--model', STORIES, '--method', 'ga', '--forget', forget, '-o', join(STORIES, 'run')]);
    assert.equal(inside.status, 2);
    assert.match(inside.stderr, /^lethe: --out [^\n]*is inside the input model folder[^\n]*\n$/);
    assert.ok(!existsSync(join(STORIES, 'run')));
    unchanged();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a Hub name from the Hub cache (offline): lethe generate and lethe eval; missing → one line, exit 2; --out inside the snapshot refused', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-hubcache-'));
  try {
    const tokenizer = tofuTokenizer();
    const model = createModel(presetConfig('tiny', { vocabSize: tokenizer.vocabSize }), { seed: 5, initStd: 0.1 });
    const cache = join(root, 'hub');
    const snapshot = await hubCache(cache, 'lethe-test/tiny', async (dir) => {
      await saveModel(model, dir);
      tokenizer.save(dir);
    });
    const env = { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' };
    const unchanged = guardInputs(cache);
    const [expected] = await generate(model, tokenizer, ['The author was born in'], { maxNewTokens: 5 });

    for (const name of ['lethe-test/tiny', `lethe-test/tiny@${COMMIT}`, 'lethe-test/tiny@main']) {
      const r = lethe(['generate', '--model', name, '--prompt', 'The author was born in', '--max-new-tokens', '5'], env);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${expected}\n`);
      assert.equal(r.stderr, '', 'nothing is downloaded, so no progress lines');
    }

    const missing = lethe(['generate', '--model', 'lethe-test/absent', '--prompt', 'Hi'], env);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^lethe: lethe-test\/absent: not a local path, and not in the Hugging Face cache \([^\n]*\); offline \(HF_HUB_OFFLINE\), so not downloaded\n$/);
    const badRevision = lethe(['eval', '--model', 'lethe-test/tiny@v9', '--benchmark', 'text', '--forget', join(root, 'x.txt'), '-o', join(root, 'r.json')], env);
    assert.equal(badRevision.status, 2);
    assert.equal(badRevision.stderr.split('\n').length, 2, badRevision.stderr);

    // Output checks compare the local path a name resolves to.
    writeFileSync(join(root, 'forget.txt'), 'The author was born in Paris.\nShe wrote novels.\n');
    const inside = lethe(['eval', '--model', 'lethe-test/tiny', '--benchmark', 'text', '--forget', join(root, 'forget.txt'), '--no-generate', '-o', join(snapshot, 'results.json')], env);
    assert.equal(inside.status, 2, inside.stderr);
    assert.match(inside.stderr, /^lethe: --out [^\n]*is inside the input model lethe-test\/tiny, cached at [^\n]*\n$/);

    // --retain-model takes the same forms.
    writeFileSync(join(root, 'holdout.txt'), 'The garden was full of roses.\nHe sailed across the bay.\n');
    const ok = lethe(['eval', '--model', 'lethe-test/tiny', '--retain-model', `lethe-test/tiny@${COMMIT}`, '--benchmark', 'text', '--forget', join(root, 'forget.txt'), '--holdout', join(root, 'holdout.txt'), '--no-generate', '-o', join(root, 'eval.json')], env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^lethe eval: text on lethe-test\/tiny: /);
    const results = JSON.parse(readFileSync(join(root, 'eval.json'), 'utf8')) as { model: { name: string }; benchmark: { retain?: string }; metrics: { mia: { privLeak: { value: number | null } } } };
    assert.equal(results.model.name, 'lethe-test/tiny');
    assert.equal(results.benchmark.retain, `lethe-test/tiny@${COMMIT}`);
    // The same model as its own retain model: PrivLeak (AUC difference relative to the retain's) is 0.
    assert.equal(results.metrics.mia.privLeak.value, 0);
    unchanged();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a tokenizer larger than the model\'s vocabulary is refused at load: one line, exit 2', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-bigtok-'));
  try {
    const tokenizer = tofuTokenizer();
    const small = createModel(presetConfig('tiny', { vocabSize: 256 }), { seed: 1 });
    const dir = join(root, 'model');
    await saveModel(small, dir);
    const tokDir = join(root, 'tok');
    tokenizer.save(tokDir);
    const r = lethe(['generate', '--model', dir, '--tokenizer', tokDir, '--prompt', 'Hi']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`^lethe: [^\\n]*: the tokenizer has ${tokenizer.vocabSize} tokens, more than the 256 of the model \\S*model \\(vocab_size\\)[^\\n]*\\n$`));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a tokenizer smaller than the model\'s vocabulary (HF pads vocab_size) is legal, with one warning naming both', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-smalltok-'));
  try {
    const tokenizer = tofuTokenizer();
    const big = createModel(presetConfig('tiny', { vocabSize: tokenizer.vocabSize + 64 }), { seed: 1 });
    const dir = join(root, 'model');
    await saveModel(big, dir);
    tokenizer.save(dir);
    const r = lethe(['generate', '--model', dir, '--prompt', 'Hi', '--max-new-tokens', '2']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^lethe: warning: [^\\n]*: the tokenizer has ${tokenizer.vocabSize} tokens, fewer than the ${tokenizer.vocabSize + 64} of the model \\S*model \\(vocab_size\\)`));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('--tokenizer DIR beside a bare model folder: lethe generate uses it, and a saved copy carries its files', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-named-tok-'));
  try {
    const tokenizer = tofuTokenizer();
    const model = createModel(presetConfig('tiny', { vocabSize: tokenizer.vocabSize }), { seed: 6, initStd: 0.1 });
    const bare = join(root, 'bare');
    await saveModel(model, bare);
    const tokDir = join(root, 'tok');
    tokenizer.save(tokDir);
    const [expected] = await generate(model, tokenizer, ['Hello'], { maxNewTokens: 4 });
    const r = lethe(['generate', '--model', bare, '--tokenizer', tokDir, '--prompt', 'Hello', '--max-new-tokens', '4']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${expected}\n`);
    const loaded = await loadModelAndTokenizer(bare, { tokenizer: join(tokDir, 'tokenizer.json') });
    await saveModel(loaded.model, join(root, 'copy'));
    assert.equal(readFileSync(join(root, 'copy', 'tokenizer.json'), 'utf8'), readFileSync(join(tokDir, 'tokenizer.json'), 'utf8'));
    assert.ok(!existsSync(join(bare, 'tokenizer.json')), 'the input folder is not written');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
