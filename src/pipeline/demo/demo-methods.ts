// The unlearning methods the demo runs on its target model, each with the learning rate and
// epochs that suit a small model trained from scratch (the published rates, 1e-5 and the like,
// are for 7B models fine-tuned at 1e-5; this target was trained at 3e-3 to 5e-3). RMU uses α = 10 and
// steering coefficient c = 20: its published α (100–1200) is calibrated for 7B activations.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Model } from '../../models/model.ts';
import { saveModel } from '../../models/save-model.ts';
import type { Tokenizer } from '../../models/tokenizer/tokenizer.ts';
import type { LoopResult } from '../../unlearn/loop.ts';
import { unlearn } from '../../unlearn/run.ts';
import type { AnyMethod } from '../../unlearn/methods/index.ts';
import { ceU } from '../../unlearn/methods/ce-u.ts';
import { ga } from '../../unlearn/methods/ga.ts';
import { gradDiff } from '../../unlearn/methods/grad-diff.ts';
import { idkDpo } from '../../unlearn/methods/idk-dpo.ts';
import { npo } from '../../unlearn/methods/npo.ts';
import { rmu } from '../../unlearn/methods/rmu.ts';
import { simNpo } from '../../unlearn/methods/simnpo.ts';
import type { ScopeOptions } from '../../unlearn/scope.ts';
import { writeResolvedConfig } from '../run-config.ts';
import { silentProgress, withProgress, type ProgressFactory } from '../progress.ts';
import type { DemoData } from './demo-case.ts';

export interface DemoMethod {
  /** The run's name (its folder, its row in the tables). */
  name: string;
  /** The method (src/unlearn/methods/). */
  method: AnyMethod;
  summary: string;
  lr: number;
  epochs: number;
  options?: Record<string, number | string>;
  scope?: ScopeOptions;
}

/** A demo run named after its method unless named otherwise. */
const run = (method: AnyMethod, rest: Omit<DemoMethod, 'name' | 'method'> & { name?: string }): DemoMethod => ({ name: method.name, method, ...rest });

export const DEMO_METHODS: readonly DemoMethod[] = [
  run(ga, { summary: 'gradient ascent on the forget set', lr: 1e-3, epochs: 5 }),
  run(gradDiff, { summary: 'ascent on the forget set, descent on the retain set', lr: 5e-4, epochs: 5 }),
  run(npo, { summary: 'negative preference optimisation against the target', lr: 1e-3, epochs: 8 }),
  run(simNpo, { summary: 'reference-free, length-normalised NPO', lr: 3e-3, epochs: 5 }),
  run(idkDpo, { summary: 'DPO preferring a refusal over the forget answer', lr: 1e-3, epochs: 5 }),
  run(rmu, { summary: 'steer middle-block activations on forget text to a random direction', lr: 1e-2, epochs: 10, options: { alpha: 10, steeringCoef: 20 } }),
  run(ceU, { summary: 'cross-entropy toward the model\'s own prediction with the true token removed', lr: 5e-4, epochs: 30 }),
  run(npo, { name: 'npo-lora', summary: 'NPO updating LoRA adapters only (r 8), merged afterwards', lr: 1e-2, epochs: 8, scope: { kind: 'lora', r: 8, alpha: 16, dropout: 0 } }),
];

/** The input-based baseline run on the target (no weight changes). */
export const DEMO_BASELINE = { name: 'guardrail', summary: 'a system instruction naming the forget authors before every prompt' } as const;

export interface UnlearnedModel {
  name: string;
  model: Model;
  runDir: string;
  modelDir: string;
  loop: LoopResult;
}

/** Unlearns the forget authors from `target` with `m` and `seed`; OUT/<name>/{model, log.jsonl, config.yaml} (name: the method's run name unless given). */
export async function runMethod(out: string, m: DemoMethod, target: Model, tokenizer: Tokenizer, data: DemoData, seed: number, progress: ProgressFactory = silentProgress, name = m.name): Promise<UnlearnedModel> {
  const runDir = join(out, name);
  await rm(runDir, { recursive: true, force: true });
  const batchSize = 8;
  // What lethe unlearn would record, so the report names the method and its settings.
  await writeResolvedConfig(runDir, 'unlearn', { method: m.method.name, methodOptions: m.options ?? {}, lr: m.lr, epochs: m.epochs, batchSize, scope: m.scope ?? (m.method.scope ? `${m.method.name} default` : { kind: 'all' }), seed });
  const run = await withProgress(progress, `  ${name}`, (onProgress) =>
    unlearn(target, tokenizer, {
      method: m.method, methodOptions: m.options, forget: data.forget, retain: data.retain, idk: data.idk, template: data.template,
      scope: m.scope, lr: m.lr, optimizer: { kind: 'adamw', weightDecay: 0 }, epochs: m.epochs, batchSize, seed, runDir,
      onProgress,
    }));
  const modelDir = join(runDir, 'model');
  await saveModel(run.model, modelDir);
  tokenizer.save(modelDir); // a model folder lethe eval and lethe attack can use as it is
  await rm(join(runDir, 'checkpoints'), { recursive: true, force: true }); // the demo never resumes
  return { name, model: run.model, runDir, modelDir, loop: run.loop };
}
