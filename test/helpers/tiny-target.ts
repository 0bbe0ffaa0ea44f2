// The tiny trained TOFU target the slow tests share: a tiny-preset model trained 40 epochs on
// three TOFU authors (one to forget). Trained once per test run: scripts/test.mjs sets
// LETHE_TEST_CACHE, the first file that asks trains and saves it there, later files load it.
// Without the variable (a file run on its own) it is trained in memory.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { plainTemplate, type PromptPair } from '../../src/data/templates.ts';
import { selectTofuAuthors, type TofuSubset } from '../../src/data/tofu.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { createModel, type Model } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { loadTokenizer } from '../../src/models/tokenizer/load-tokenizer.ts';
import type { Tokenizer } from '../../src/models/tokenizer/tokenizer.ts';
import { trainTokenizer } from '../../src/models/tokenizer/train-tokenizer.ts';
import { finetune } from '../../src/unlearn/finetune.ts';

export interface TinyTarget {
  tokenizer: Tokenizer;
  target: Model;
  subset: TofuSubset;
  template: ReturnType<typeof plainTemplate>;
  forget: PromptPair[];
  retain: PromptPair[];
}

let inProcess: Promise<TinyTarget> | null = null;

/** The shared target (trained at most once per test run). */
export function tinyTofuTarget(): Promise<TinyTarget> {
  inProcess ??= build();
  return inProcess;
}

async function build(): Promise<TinyTarget> {
  const template = plainTemplate();
  const subset = selectTofuAuthors({ authors: 3, forget: 1 });
  const forget = subset.forgetSet.map((i) => template.pair(i.question, i.answer));
  const retain = subset.retainSet.map((i) => template.pair(i.question, i.answer));
  const cache = process.env.LETHE_TEST_CACHE;
  const dir = cache ? join(cache, 'tiny-tofu-target') : null;
  if (dir && existsSync(join(dir, 'config.json'))) {
    return { tokenizer: loadTokenizer(dir), target: await loadModel(dir), subset, template, forget, retain };
  }
  const tokenizer = trainTokenizer([...forget, ...retain].map((p) => p.prompt + p.target), { vocabSize: 600 });
  const config = presetConfig('tiny', { vocabSize: tokenizer.vocabSize, eosTokenId: tokenizer.eosId ?? null, maxPositions: 256 });
  const runDir = mkdtempSync(join(tmpdir(), 'lethe-tiny-target-'));
  const target = (await finetune(createModel(config, { seed: 1 }), tokenizer, {
    data: [...forget, ...retain], template, lr: 1e-2, optimizer: { kind: 'adamw', weightDecay: 0 },
    schedule: 'cosine', warmupSteps: 10, epochs: 40, batchSize: 8, runDir,
  })).model;
  rmSync(runDir, { recursive: true, force: true });
  if (dir) {
    // Saved under a temporary name and renamed: a killed run leaves no half-written target.
    mkdirSync(cache!, { recursive: true });
    const tmp = mkdtempSync(join(cache!, 'tmp-'));
    await saveModel(target, tmp);
    tokenizer.save(tmp);
    renameSync(tmp, dir);
  }
  return { tokenizer, target, subset, template, forget, retain };
}
