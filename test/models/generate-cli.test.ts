// `lethe generate`: prints the completions the library gives for a saved model folder; a missing
// folder, a folder without a tokenizer and a malformed flag are one-line errors with exit code 2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveGenerateFlags } from '../../src/cli/commands/generate.ts';
import { generate } from '../../src/models/generate.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { tofuTokenizer } from './tokenizer/trained.ts';
import { guardInputs } from '../helpers/input-guard.ts';

const BIN = fileURLToPath(new URL('../../bin/lethe.js', import.meta.url));
const lethe = (...args: string[]) => spawnSync(process.execPath, [BIN, 'generate', ...args], { encoding: 'utf8' });

test('lethe generate prints each completion; missing folder or tokenizer: one line, exit 2', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lethe-generate-'));
  try {
    const tokenizer = tofuTokenizer();
    const model = createModel(presetConfig('tiny', { vocabSize: tokenizer.vocabSize }), { seed: 4, initStd: 0.1 });
    const bare = join(root, 'bare');
    await saveModel(model, bare);
    const dir = join(root, 'model');
    await saveModel(model, dir);
    tokenizer.save(dir);
    const inputUnchanged = guardInputs(dir, bare);

    const prompts = ['The author was born in', 'Hello'];
    const expected = await generate(model, tokenizer, prompts, { maxNewTokens: 6, stop: ['\n'] });
    const ok = lethe('--model', dir, '--prompt', prompts[0], '--prompt', prompts[1], '--max-new-tokens', '6', '--stop', '\n');
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, `[1] ${expected[0]}\n[2] ${expected[1]}\n`);

    const missing = join(root, 'nowhere');
    const noFolder = lethe('--model', missing, '--prompt', 'Hello');
    assert.equal(noFolder.status, 2);
    assert.equal(noFolder.stderr, `lethe: ${missing}: no such model file or folder\n`);

    const noTokenizer = lethe('--model', bare, '--prompt', 'Hello');
    assert.equal(noTokenizer.status, 2);
    assert.match(noTokenizer.stderr, /^lethe: .*bare: no tokenizer\.json \(or llama2\.c tokenizer\.bin\) in this directory\n$/);
    inputUnchanged();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('flags: numbers are checked and named; at least one prompt', () => {
  const flags = { model: 'm', prompt: ['p'], stop: [] };
  assert.deepEqual(resolveGenerateFlags({ ...flags, maxNewTokens: '5', temperature: '0.7', topK: '40', topP: '0.9', seed: '3' }), {
    maxNewTokens: 5, temperature: 0.7, topK: 40, topP: 0.9, seed: 3, stop: [],
  });
  assert.throws(() => resolveGenerateFlags({ ...flags, maxNewTokens: '5.5' }), /--max-new-tokens: expected an integer, got "5.5"/);
  assert.throws(() => resolveGenerateFlags({ ...flags, temperature: 'hot' }), /--temperature: expected a number, got "hot"/);
  assert.throws(() => resolveGenerateFlags({ ...flags, prompt: [] }), /--prompt: give at least one prompt/);
});
