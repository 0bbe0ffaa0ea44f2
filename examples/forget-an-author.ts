// lethe as a library, end to end on a tiny case: train a small model on four TOFU authors (and
// a retain model on three of them), make it forget one author with a method defined right
// here, evaluate all three models (no generation, so ROUGE and model utility are unavailable)
// and write a report. Everything comes from `lethe`.
//
//   npx tsx examples/forget-an-author.ts [OUT]      (OUT defaults to runs/example)
import { join } from 'node:path';
import {
  batchCe, commonOptionFields, createModel, evaluateModel, finetune, ops as o, plainTemplate, presetConfig,
  saveModel, selectTofuAuthors, templatePairs, trainTokenizer, unlearn, writeReport, z,
  type UnlearnMethod,
} from 'lethe';

/**
 * Bounded gradient ascent: L_f = max(0, τ − ce(D_f)). It pushes the forget answers' token-level
 * NLL up to the ceiling τ and then stops pushing, so it cannot run away the way plain gradient
 * ascent does. Retain term: nll on the retain set (α = 1).
 */
const boundedAscent: UnlearnMethod<{ ceiling: number }> = {
  name: 'bounded-ascent',
  summary: 'gradient ascent on the forget set until its NLL reaches a ceiling τ',
  defaults: { ceiling: 8, gamma: 1, alpha: 1, retain: 'nll' },
  schema: z.strictObject({ ...commonOptionFields, ceiling: z.number().positive() }),
  lr: 1e-3,
  needs: [],
  forgetLoss: ({ forget }, { ceiling }) => o.maximum(o.sub(ceiling, batchCe(forget)), 0),
};

const out = process.argv[2] ?? join('runs', 'example');
const template = plainTemplate();
const { forgetSet, retainSet } = selectTofuAuthors({ authors: 4, forget: 1 });
const everything = templatePairs(template, [...retainSet, ...forgetSet]);
const tokenizer = trainTokenizer(everything.map((p) => p.prompt + p.target), { vocabSize: 512 });
const initial = createModel(presetConfig('tiny', { vocabSize: tokenizer.vocabSize, eosTokenId: tokenizer.eosId ?? null, bosTokenId: tokenizer.bosId ?? null, maxPositions: 256 }), { seed: 0 });
const recipe = { template, lr: 5e-3, schedule: 'cosine' as const, warmupSteps: 10, epochs: 20, batchSize: 8, optimizer: { kind: 'adamw' as const, weightDecay: 0 } };

/** Saves a model with its tokenizer as a folder lethe (or any HF tool) can load. */
async function save(name: string, model: Parameters<typeof saveModel>[0]): Promise<string> {
  const dir = join(out, name, 'model');
  await saveModel(model, dir);
  tokenizer.save(dir);
  return dir;
}

const target = await finetune(initial, tokenizer, { ...recipe, data: everything, runDir: join(out, 'target') });
const retain = await finetune(initial, tokenizer, { ...recipe, data: templatePairs(template, retainSet), runDir: join(out, 'retain') });
const unlearned = await unlearn(target.model, tokenizer, {
  method: boundedAscent, methodOptions: { ceiling: 6 },
  forget: templatePairs(template, forgetSet), retain: templatePairs(template, retainSet),
  template, lr: 1e-3, epochs: 5, batchSize: 4, runDir: join(out, 'bounded-ascent'),
});

const dirs = { retain: await save('retain', retain.model), target: await save('target', target.model), 'bounded-ascent': await save('bounded-ascent', unlearned.model) };
const evaluation = { benchmark: 'tofu' as const, tofuAuthors: 4, forgetAuthors: 1, maxNewTokens: null, prefixTokens: 32, fewShot: 3, batchSize: 16, template: 'plain' as const };
const retainResults = join(out, 'retain', 'results.json');
for (const [name, model] of Object.entries(dirs)) {
  const { metrics } = await evaluateModel({ ...evaluation, model, name, out: join(out, name, 'results.json'), ...(name === 'retain' ? {} : { retainResults }) });
  const tofu = metrics.tofu;
  const show = (v: number | null) => (v === null ? 'unavailable' : v.toPrecision(3));
  console.log(`${name}: forget quality ${show(tofu.forgetQuality.value)}, forget Prob ${show(tofu.forgetProb.value)}, retain Prob ${show(tofu.retainProb.value)}`);
}
const report = await writeReport(Object.keys(dirs).map((name) => join(out, name)), join(out, 'report.html'));
console.log(`report: ${report.out}`);
