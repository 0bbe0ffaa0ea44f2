// One case of the model benchmark, run in its own process so its peak memory is its own:
// `node --import tsx bench/model-case.ts train_step|scoring|generate`. The last stdout line is
// {"case", "tokens_per_second", "seconds", "peak_rss_mib"}.

import { Graph } from '../src/engine/graph.ts';
import * as o from '../src/engine/ops.ts';
import { TrainStep } from '../src/engine/train-step.ts';
import { compile } from '../src/engine/program.ts';
import { Rng } from '../src/engine/random.ts';
import { Generator } from '../src/models/generate.ts';
import { createModel } from '../src/models/model.ts';
import { presetConfig } from '../src/models/presets.ts';
import { trainTokenizer } from '../src/models/tokenizer/train-tokenizer.ts';
import { nextTokenLoss } from '../src/nn/loss.ts';
import { median } from './util.ts';

const [B, T, PROMPT, NEW, STEPS] = [8, 128, 16, 128, 3];
const which = process.argv[2];
const log = (s: string) => process.stderr.write(`${s}\n`);
const model = createModel(presetConfig('gpt2-124m'), { seed: 0 });
const rng = new Rng(1);
const ids = { dtype: 'int64' as const, shape: [B, T], data: BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(50257))) };
const times: number[] = [];
let tokens = B * T;

if (which === 'train_step') {
  const g = new Graph();
  const x = g.input('input_ids', 'int64', [B, T]);
  const out = model.forward(g, x);
  const step = TrainStep.create({ loss: nextTokenLoss(out.logits, x), params: [...out.params.values()], data: [x], optimizer: { kind: 'adamw', weightDecay: 0.01, maxGradNorm: 1 } }, model.params);
  for (let i = 0; i <= STEPS; i++) {
    const t0 = performance.now();
    const r = await step.run({ input_ids: ids }, 1e-4);
    times.push((performance.now() - t0) / 1000);
    log(`lethe train step ${i}: ${times[i].toFixed(2)} s, loss ${r.loss.toFixed(4)}`);
  }
} else if (which === 'scoring') {
  const g = new Graph();
  const x = g.input('input_ids', 'int64', [B, T]);
  const out = model.forward(g, x);
  const next = o.slice(x, { axes: [1], starts: [1], ends: [T] });
  const logp = o.gatherElements(o.logSoftmax(o.slice(out.logits, { axes: [1], starts: [0], ends: [T - 1] }), -1), o.unsqueeze(next, -1), 2);
  const program = compile([x, ...out.params.values()], { logp });
  for (let i = 0; i <= STEPS; i++) {
    const t0 = performance.now();
    await program.run({ input_ids: ids, ...model.feeds() });
    times.push((performance.now() - t0) / 1000);
    log(`lethe scoring pass ${i}: ${times[i].toFixed(2)} s`);
  }
} else if (which === 'generate') {
  // Any tokenizer whose ids fit the vocabulary; the prompt is PROMPT tokens of it.
  const tokenizer = trainTokenizer(['the quick brown fox jumps over the lazy dog '.repeat(50)], { vocabSize: 300 });
  const prompt = tokenizer.decode(Array.from({ length: PROMPT }, (_, i) => 260 + (i % 30)));
  const gen = new Generator(model, tokenizer, { batchSize: 1, maxLength: 256 });
  for (let i = 0; i <= STEPS; i++) {
    const t0 = performance.now();
    await gen.generate([prompt], { maxNewTokens: NEW, addSpecialTokens: false });
    times.push((performance.now() - t0) / 1000);
    log(`lethe generation ${i}: ${times[i].toFixed(2)} s for ${NEW} tokens`);
  }
  tokens = NEW;
} else {
  throw new Error(`unknown case ${which}`);
}
const seconds = median(times.slice(1)); // the first run compiles
console.log(JSON.stringify({ case: which, tokens_per_second: tokens / seconds, seconds, peak_rss_mib: process.resourceUsage().maxRSS / 1024 }));
process.exit(0);
