// The real llama2.c model stories260K.bin with its tok512.bin, as llama2.c ships them: found from
// the file or its folder (with the tokenizer beside it or named), and greedy generation equal,
// token for token and character for character, to what llama2.c's run.c printed
// (test/fixtures/models/stories260K/runc-greedy.json): prompts encoded to run.c's ids, stopping
// when the model emits BOS, continuations decoded with their leading space.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../src/engine/errors.ts';
import { readLlama2cTokenizer } from '../../src/models/formats/llama2c.ts';
import { Generator } from '../../src/models/generate.ts';
import { loadModelAndTokenizer } from '../../src/models/load-model.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { fixtureDir } from './golden.ts';

const dir = fixtureDir('stories260K');
const runc = JSON.parse(readFileSync(join(dir, 'runc-greedy.json'), 'utf8')) as {
  cases: { prompt: string; prompt_ids: number[]; generated_ids: number[]; stopped_at_bos: boolean; text: string }[];
};
const POSITIONS = 200; // run.c's -n 200: prompt and generated tokens share 200 positions

test('stories260K.bin: the file or its folder loads with tok512.bin from beside it', async () => {
  for (const path of [join(dir, 'stories260K.bin'), dir]) {
    const { model, tokenizer } = await loadModelAndTokenizer(path);
    assert.equal(model.config.vocabSize, 512);
    assert.equal(model.config.numLayers, 5);
    assert.equal(tokenizer.vocabSize, 512);
    assert.equal(tokenizer.bosId, 1);
  }
});

test('stories260K: greedy generation equals run.c\'s, ids and printed text, stopping at BOS', async () => {
  const { model, tokenizer } = await loadModelAndTokenizer(join(dir, 'stories260K.bin'));
  const gen = new Generator(model, tokenizer, { batchSize: 4 });
  try {
    for (const c of runc.cases) {
      assert.ok(c.text.endsWith('\n'));
      const printed = c.text.slice(0, -1); // run.c ends its output with printf("\n") after the loop
      assert.deepEqual(tokenizer.encode(c.prompt), c.prompt_ids, `${c.prompt}: prompt ids`);
      const budget = POSITIONS + 1 - c.prompt_ids.length;
      const [ids] = await gen.generateTokens([c.prompt_ids], { maxNewTokens: budget });
      assert.deepEqual(ids, c.generated_ids, `${c.prompt}: generated ids`);
      assert.equal(ids.length < budget, c.stopped_at_bos, `${c.prompt}: stopped at BOS`);
      assert.equal(tokenizer.decode([...c.prompt_ids, ...ids], { skipSpecialTokens: true }), printed, `${c.prompt}: printed text`);
      // A continuation decoded on its own keeps its leading space ("because" + " he").
      const [text] = await gen.generate([c.prompt], { maxNewTokens: budget });
      assert.equal(c.prompt + text, printed);
    }
    // Batched, all three at once (left-padded to one length): the same ids, up to the shortest budget.
    const n = Math.min(...runc.cases.map((c) => POSITIONS + 1 - c.prompt_ids.length));
    const all = await gen.generateTokens(runc.cases.map((c) => c.prompt_ids), { maxNewTokens: n });
    runc.cases.forEach((c, i) => assert.deepEqual(all[i], c.generated_ids.slice(0, n)));
  } finally {
    await gen.dispose();
  }
  assert.ok(runc.cases.some((c) => c.stopped_at_bos) && runc.cases.some((c) => !c.stopped_at_bos), 'both endings exercised');
});

test('stories260K: the tokenizer named by the option, or a clear error when none is found', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-stories-'));
  try {
    copyFileSync(join(dir, 'stories260K.bin'), join(root, 'stories260K.bin'));
    await assert.rejects(loadModelAndTokenizer(join(root, 'stories260K.bin')), (e: unknown) => e instanceof LetheError && /no llama2.c tokenizer beside stories260K.bin \(expected tokenizer.bin or tok512.bin/.test(e.message));
    const { tokenizer } = await loadModelAndTokenizer(root, { tokenizer: join(dir, 'tok512.bin') });
    assert.deepEqual(tokenizer.encode('Once upon a time'), runc.cases[0].prompt_ids);
    const byFolder = await loadModelAndTokenizer(root, { tokenizer: dir });
    assert.equal(byFolder.tokenizer.vocabSize, 512);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('stories260K saved as an HF folder keeps its tokenizer (tokenizer.bin) and generates the same', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-stories-'));
  try {
    const { model } = await loadModelAndTokenizer(dir);
    await saveModel(model, join(root, 'saved'));
    const again = await loadModelAndTokenizer(join(root, 'saved'));
    assert.equal(again.model.config.modelType, 'llama');
    const c = runc.cases[2];
    const gen = new Generator(again.model, again.tokenizer);
    assert.deepEqual((await gen.generateTokens([c.prompt_ids], { maxNewTokens: POSITIONS + 1 - c.prompt_ids.length }))[0], c.generated_ids);
    await gen.dispose();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('tok512: encode equals run.c\'s rescanning merge loop on varied text (byte fallback included); decode inverts it', async () => {
  const { tokenizer } = await loadModelAndTokenizer(dir);
  const vocab = await readLlama2cTokenizer(join(dir, 'tok512.bin'), 512);
  const key = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const lookup = new Map<string, number>();
  vocab.bytes.forEach((b, id) => lookup.has(key(b)) || lookup.set(key(b), id));
  // run.c's encode, written as it is: rescan every pair after each merge.
  const runcEncode = (text: string): number[] => {
    const tokens = [1, lookup.get(' ')!];
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < bytes.length; ) {
      let n = 1;
      while (i + n < bytes.length && (bytes[i + n] & 0xc0) === 0x80 && n < 4) n++;
      const id = lookup.get(bytes.subarray(i, i + n).toString('latin1'));
      if (id !== undefined) tokens.push(id);
      else for (let j = i; j < i + n; j++) tokens.push(bytes[j] + 3);
      i += n;
    }
    for (;;) {
      let best = -1e10;
      let at = -1;
      let bestId = -1;
      for (let i = 1; i + 1 < tokens.length; i++) {
        const id = lookup.get(key(vocab.bytes[tokens[i]]) + key(vocab.bytes[tokens[i + 1]]));
        if (id !== undefined && vocab.scores[id] > best) [best, at, bestId] = [vocab.scores[id], i, id];
      }
      if (at < 0) return tokens;
      tokens.splice(at, 2, bestId);
    }
  };
  const texts = [...runc.cases.map((c) => c.text), 'Zoë naïvely ate 3 crêpes — déjà vu! 🐦', 'aaaaaaaaaaaa bbbbbbbbb', '  two  spaces\tand\ttabs\n'];
  for (const text of texts) {
    const ids = tokenizer.encode(text);
    assert.deepEqual(ids, runcEncode(text), JSON.stringify(text));
    assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), text);
  }
});
