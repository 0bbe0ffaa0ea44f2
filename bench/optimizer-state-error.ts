// The error of `--optimizer-state bf16` against float32 optimiser state, on a real pretrained
// model: stories260K (llama2.c, shipped in test/fixtures), gradient difference and NPO on a made-up
// character's sentences with ordinary story sentences retained, AdamW, the same steps with each
// state dtype. Prints, per method: the largest difference of the per-step losses, the forget /
// retain / held-out NLL each run ends at, and how far apart the final weights are relative to how
// far training moved them; as a yardstick of how sensitive the run itself is, the same for a
// float32 run whose learning rate is 1e-4 larger (relative).
// `node --import tsx bench/optimizer-state-error.ts [STEPS]` (default 200).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePair } from '../src/data/batches.ts';
import { Graph } from '../src/engine/graph.ts';
import { compile } from '../src/engine/program.ts';
import { loadModelAndTokenizer } from '../src/models/load-model.ts';
import type { Model } from '../src/models/model.ts';
import type { Tokenizer } from '../src/models/tokenizer/tokenizer.ts';
import { unlearn } from '../src/unlearn/run.ts';

const steps = Number(process.argv[2] ?? 200);
const PROMPT = 'Once upon a time,';
const pairs = (xs: string[]) => xs.map((s) => ({ prompt: PROMPT, target: ` ${s}` }));
const forget = pairs([
  'there was a purple dragon named Zorblax who ate the moon.',
  'Zorblax the dragon had seven tails and a silver hat.',
  'Every night Zorblax sang to the stars in the sky.',
  'Zorblax lived in a cave made of blue cheese.',
]);
const retain = pairs([
  'there was a little girl named Lily. She liked to play in the park.',
  'there was a boy named Tom. He had a red ball and a big dog.',
  'there was a cat who liked to sleep in the sun.',
  'there was a little bird. The bird liked to sing with her mom.',
]);
const heldOut = pairs([
  'there was a little dog named Max. He liked to run and play.',
  'there was a girl who had a big red ball. She was very happy.',
  'there was a little boy. He wanted to play with his friends.',
]);
const template = { promptSpecialTokens: true, appendEos: false };

/** Mean NLL (nats per target token) of the pairs. */
async function nll(model: Model, tokenizer: Tokenizer, set: { prompt: string; target: string }[]): Promise<number> {
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', [1, 'T']);
  const out = model.forward(g, ids);
  const program = compile([ids, ...out.params.values()], { logits: out.logits }, { specialize: false });
  const V = model.config.vocabSize;
  let total = 0;
  for (const pair of set) {
    const { ids: seq, promptLength } = encodePair(tokenizer, pair, template);
    const r = await program.run({ input_ids: { dtype: 'int64', shape: [1, seq.length], data: BigInt64Array.from(seq, BigInt) }, ...model.feeds() });
    const logits = r.logits.data as Float32Array;
    let sum = 0;
    for (let t = promptLength; t < seq.length; t++) {
      const row = logits.subarray((t - 1) * V, t * V);
      const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
      sum += max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0)) - row[seq[t]];
    }
    total += sum / (seq.length - promptLength) / set.length;
  }
  await program.dispose();
  return total;
}

const dir = fileURLToPath(new URL('../test/fixtures/models/stories260K', import.meta.url));
const { model, tokenizer } = await loadModelAndTokenizer(dir);
const w0 = new Map([...model.params].map(([n, t]) => [n, Float32Array.from(t.data as Float32Array)]));
for (const method of ['graddiff', 'npo'] as const) {
  const runs: Record<string, { losses: number[]; model: Model }> = {};
  for (const [key, stateDtype, lr] of [['float32', 'float32', 1e-3], ['bfloat16', 'bfloat16', 1e-3], ['nudged', 'float32', 1e-3 * (1 + 1e-4)]] as const) {
    const runDir = mkdtempSync(join(tmpdir(), 'lethe-state-error-'));
    const losses: number[] = [];
    try {
      const { model: after } = await unlearn(model, tokenizer, {
        method, forget, retain, template, optimizer: { kind: 'adamw', stateDtype }, lr, batchSize: 4, epochs: steps, seed: 1, runDir,
        onProgress: (p) => void losses.push(p.loss),
      });
      runs[key] = { losses, model: after };
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  }
  const a = runs.float32;
  const apart = (b: { losses: number[]; model: Model }) => {
    let worstLoss = 0;
    a.losses.forEach((l, i) => (worstLoss = Math.max(worstLoss, Math.abs(l - b.losses[i]))));
    let d = 0;
    let moved = 0;
    for (const [name, start] of w0) {
      const x = a.model.params.get(name)!.data as Float32Array;
      const y = b.model.params.get(name)!.data as Float32Array;
      for (let i = 0; i < x.length; i++) {
        d += (x[i] - y[i]) ** 2;
        moved += (x[i] - start[i]) ** 2;
      }
    }
    return `the largest per-step loss difference ${worstLoss.toExponential(2)}, final loss ${b.losses.at(-1)!.toFixed(4)} (float32 ${a.losses.at(-1)!.toFixed(4)}), weights apart by ${(Math.sqrt(d / moved)).toExponential(2)} of how far training moved them`;
  };
  const ends = async (m: Model) => `forget ${(await nll(m, tokenizer, forget)).toFixed(3)}, retain ${(await nll(m, tokenizer, retain)).toFixed(3)}, held-out ${(await nll(m, tokenizer, heldOut)).toFixed(3)}`;
  console.log(`${method}, ${steps} steps (lr 1e-3, AdamW):`);
  console.log(`  bfloat16 state against float32: ${apart(runs.bfloat16)}`);
  console.log(`  float32 with lr × (1 + 1e-4) against float32: ${apart(runs.nudged)}`);
  console.log(`  NLL at the end, float32 state: ${await ends(a.model)}`);
  console.log(`  NLL at the end, bfloat16 state: ${await ends(runs.bfloat16.model)}`);
}
