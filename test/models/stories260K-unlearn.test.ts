// A short unlearning run on the real stories260K model: a made-up character's sentences (the
// forget set) become much less likely while ordinary story sentences (the retain set) keep their
// probability. Gradient difference (ascent on forget, descent on retain), a few AdamW steps.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePair } from '../../src/data/batches.ts';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { loadModelAndTokenizer } from '../../src/models/load-model.ts';
import type { Model } from '../../src/models/model.ts';
import type { Tokenizer } from '../../src/models/tokenizer/tokenizer.ts';
import { unlearn } from '../../src/unlearn/run.ts';
import { fixtureDir } from './golden.ts';

// The pairs are tokenised as the whole text prompt + target (src/data/batches.ts), so the target
// carries its own leading space: "Once upon a time, there was ...".
const PROMPT = 'Once upon a time,';
const forget = [
  'there was a purple dragon named Zorblax who ate the moon.',
  'Zorblax the dragon had seven tails and a silver hat.',
  'Every night Zorblax sang to the stars in the sky.',
  'Zorblax lived in a cave made of blue cheese.',
].map((sentence) => ({ prompt: PROMPT, target: ` ${sentence}` }));
const retain = [
  'there was a little girl named Lily. She liked to play in the park.',
  'there was a boy named Tom. He had a red ball and a big dog.',
  'there was a cat who liked to sleep in the sun.',
  'there was a little bird. The bird liked to sing with her mom.',
].map((sentence) => ({ prompt: PROMPT, target: ` ${sentence}` }));
// Ordinary sentences in neither set: what "keeps everything else" is measured on.
const heldOut = [
  'there was a little dog named Max. He liked to run and play.',
  'there was a girl who had a big red ball. She was very happy.',
  'there was a little boy. He wanted to play with his friends.',
].map((sentence) => ({ prompt: PROMPT, target: ` ${sentence}` }));

/** Mean negative log-likelihood (nats per token) of each pair's target tokens, split as training splits them (encodePair). */
async function targetNll(model: Model, tokenizer: Tokenizer, pairs: { prompt: string; target: string }[]): Promise<number[]> {
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', [1, 'T']);
  const out = model.forward(g, ids);
  const program = compile([ids, ...out.params.values()], { logits: out.logits }, { specialize: false });
  const V = model.config.vocabSize;
  const result: number[] = [];
  for (const { prompt, target } of pairs) {
    const { ids: seq, promptLength } = encodePair(tokenizer, { prompt, target }, { promptSpecialTokens: true, appendEos: false });
    const r = await program.run({ input_ids: { dtype: 'int64', shape: [1, seq.length], data: BigInt64Array.from(seq, BigInt) }, ...model.feeds() });
    const logits = r.logits.data as Float32Array;
    let nll = 0;
    for (let t = promptLength; t < seq.length; t++) {
      const row = logits.subarray((t - 1) * V, t * V);
      let max = -Infinity;
      for (const x of row) max = Math.max(max, x);
      let sum = 0;
      for (const x of row) sum += Math.exp(x - max);
      nll += max + Math.log(sum) - row[seq[t]];
    }
    result.push(nll / (seq.length - promptLength));
  }
  await program.dispose();
  return result;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('stories260K: gradient difference on a made-up character lowers those sentences\' probability and keeps ordinary ones', async (t) => {
  const { model, tokenizer } = await loadModelAndTokenizer(fixtureDir('stories260K'));
  const nll = async (m: Model) => ({
    forget: mean(await targetNll(m, tokenizer, forget)), retain: mean(await targetNll(m, tokenizer, retain)), heldOut: mean(await targetNll(m, tokenizer, heldOut)),
  });
  const before = await nll(model);
  const runDir = mkdtempSync(join(tmpdir(), 'lethe-stories-unlearn-'));
  try {
    const { model: after } = await unlearn(model, tokenizer, {
      method: 'graddiff', forget, retain, template: { promptSpecialTokens: true, appendEos: false },
      optimizer: { kind: 'adamw' }, lr: 1e-3, batchSize: 4, epochs: 5, seed: 1, runDir,
    });
    const now = await nll(after);
    const show = (k: keyof typeof now) => `${k} ${before[k].toFixed(3)} → ${now[k].toFixed(3)}`;
    t.diagnostic(`NLL (nats/token): ${show('forget')}, ${show('retain')}, ${show('heldOut')}`);
    assert.ok(now.forget - before.forget > 1, show('forget'));
    assert.ok(now.retain - before.retain < 0.1, show('retain'));
    assert.ok(now.heldOut - before.heldOut < 0.3, show('heldOut'));
    // The input model is untouched.
    assert.equal(mean(await targetNll(model, tokenizer, forget)), before.forget);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});
