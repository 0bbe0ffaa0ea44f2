// The demo's target model (trained on every author) and retain model (the same recipe and seed
// without the forget authors), trained from scratch with a tokenizer trained on the case's text,
// or reused from OUT/target/model and OUT/retain/model when OUT/case.json says they were made
// from the same case.

import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModelAndTokenizer } from '../../models/load-model.ts';
import { createModel, type Model } from '../../models/model.ts';
import type { ModelConfig } from '../../models/formats/model-config.ts';
import { presetConfig } from '../../models/presets.ts';
import { saveModel } from '../../models/save-model.ts';
import type { Tokenizer } from '../../models/tokenizer/tokenizer.ts';
import { trainTokenizer } from '../../models/tokenizer/train-tokenizer.ts';
import { writeFileAtomic } from '../../models/formats/write-file-atomic.ts';
import type { LoopResult } from '../../unlearn/loop.ts';
import { finetune } from '../../unlearn/finetune.ts';
import { withProgress, type ProgressFactory } from '../progress.ts';
import type { DemoCase, DemoData } from './demo-case.ts';

export const CASE_FILE = 'case.json';

export interface TrainedModel {
  name: 'target' | 'retain';
  model: Model;
  /** OUT/<name>: the run folder (log.jsonl, model/, results.json). */
  runDir: string;
  modelDir: string;
  /** The training run; null when the model was reused. */
  loop: LoopResult | null;
}

export interface CaseModels {
  tokenizer: Tokenizer;
  target: TrainedModel;
  retain: TrainedModel;
  reused: boolean;
}

interface CaseFile {
  case: ModelCase;
  /** False while the models are being trained: an interrupted run is not reused. */
  trained: boolean;
}

export function readCaseFile(out: string): CaseFile | null {
  const path = join(out, CASE_FILE);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CaseFile;
  } catch {
    return null; // unreadable: train again
  }
}

const writeCaseFile = (out: string, file: CaseFile) => writeFileAtomic(join(out, CASE_FILE), `${JSON.stringify(file, null, 2)}\n`);

/** Whether OUT holds both models, finished, from exactly this case. */
export function reusable<C extends ModelCase>(out: string, c: C): boolean {
  const saved = readCaseFile(out);
  return saved !== null && saved.trained && JSON.stringify(saved.case) === JSON.stringify(c) &&
    ['target', 'retain'].every((n) => existsSync(join(out, n, 'model', 'config.json')) && existsSync(join(out, n, 'model', 'tokenizer.json')));
}

/** What the models are made from (a TOFU DemoCase, or another case with the same training fields). */
export type ModelCase = Pick<DemoCase, 'preset' | 'shape' | 'vocabSize' | 'maxPositions' | 'training'>;

/** The training sets of the two models; `describe` names them in the progress lines (default: the TOFU case's words). */
export type ModelData = Pick<DemoData, 'template' | 'targetPairs' | 'retainPairs'> & { describe?: { target: string; retain: string } };

export async function caseModels(out: string, c: ModelCase, data: ModelData, opts: { fresh: boolean; say: (line: string) => void; progress: ProgressFactory }): Promise<CaseModels> {
  const dirs = { target: join(out, 'target'), retain: join(out, 'retain') };
  if (!opts.fresh && reusable(out, c)) {
    opts.say(`reusing the target and retain models in ${out} (same case; --fresh trains them again)`);
    const load = async (name: 'target' | 'retain') => {
      const modelDir = join(dirs[name], 'model');
      const { model, tokenizer } = await loadModelAndTokenizer(modelDir);
      return { tokenizer, trained: { name, model, runDir: dirs[name], modelDir, loop: null } satisfies TrainedModel };
    };
    const [target, retain] = [await load('target'), await load('retain')];
    return { tokenizer: target.tokenizer, target: target.trained, retain: retain.trained, reused: true };
  }

  await writeCaseFile(out, { case: c, trained: false });
  for (const d of [...Object.values(dirs), join(out, 'tokenizer')]) await rm(d, { recursive: true, force: true });
  const tokenizer = trainTokenizer(data.targetPairs.map((p) => p.prompt + p.target), { vocabSize: c.vocabSize });
  tokenizer.save(join(out, 'tokenizer'));
  const files = Object.fromEntries(await Promise.all(['tokenizer.json', 'tokenizer_config.json'].map(async (f) => [f, await readFile(join(out, 'tokenizer', f), 'utf8')] as const)));
  const config = { ...presetConfig(c.preset, { vocabSize: tokenizer.vocabSize, eosTokenId: tokenizer.eosId ?? null, bosTokenId: tokenizer.bosId ?? null, maxPositions: c.maxPositions }), ...c.shape } as ModelConfig;
  // Both models start from the same initial weights, as both TOFU models start from one pretrained model.
  const initial = createModel(config, { seed: c.training.seed });
  opts.say(`tokenizer: ${tokenizer.vocabSize} tokens; model: ${c.preset} preset, ${initial.size.toLocaleString('en-US')} parameters`);

  const train = async (name: 'target' | 'retain', pairs: DemoData['targetPairs'], what: string): Promise<TrainedModel> => {
    opts.say(`training the ${name} model on ${what} (${pairs.length} items, ${c.training.epochs} epochs)`);
    const run = await withProgress(opts.progress, `  ${name}`, (onProgress) =>
      finetune(initial, tokenizer, {
        data: pairs, template: data.template,
        lr: c.training.lr, optimizer: { kind: 'adamw', weightDecay: 0 }, schedule: 'cosine', warmupSteps: c.training.warmupSteps,
        epochs: c.training.epochs, batchSize: c.training.batchSize, seed: c.training.seed, runDir: dirs[name],
        onProgress,
      }));
    const modelDir = join(dirs[name], 'model');
    await saveModel(run.model, modelDir, { files });
    await rm(join(dirs[name], 'checkpoints'), { recursive: true, force: true }); // the demo never resumes
    return { name, model: run.model, runDir: dirs[name], modelDir, loop: run.loop };
  };
  const target = await train('target', data.targetPairs, data.describe?.target ?? 'every author and the world facts');
  const retain = await train('retain', data.retainPairs, data.describe?.retain ?? 'the same without the forget authors');
  await writeCaseFile(out, { case: c, trained: true });
  return { tokenizer, target, retain, reused: false };
}
