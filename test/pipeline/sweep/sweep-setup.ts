// A tiny sweep for the tests: a "model" folder and forget/retain files in a temporary folder,
// and a sweep file of 2 methods × 3 settings (GA's γ, NPO's β) × the given seeds.

import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface SweepSetup {
  root: string;
  specPath: string;
  model: string;
}

const roots: string[] = [];
process.once('exit', () => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** The setup's folder is removed when the test process exits. */
export function makeSweepSetup(seeds: number[] = [0], epochs = 4): SweepSetup {
  const root = mkdtempSync(join(tmpdir(), 'lethe-sweep-'));
  roots.push(root);
  const model = join(root, 'inputs', 'model');
  mkdirSync(model, { recursive: true });
  writeFileSync(join(model, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_layer: 2 }));
  writeFileSync(join(model, 'model.safetensors'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
  writeFileSync(join(root, 'inputs', 'forget.jsonl'), '{"question":"Q1","answer":"A1"}\n');
  writeFileSync(join(root, 'inputs', 'retain.jsonl'), '{"question":"Q2","answer":"A2"}\n');
  const spec = {
    name: 'tiny',
    model: 'inputs/model',
    data: { forget: 'inputs/forget.jsonl', retain: 'inputs/retain.jsonl' },
    seeds,
    loop: { epochs, lr: 1e-5 },
    methods: { ga: { options: { gamma: [0.5, 1, 2] } }, npo: { options: { beta: [0.05, 0.1, 0.5] } } },
  };
  const specPath = join(root, 'sweep.yaml');
  writeFileSync(specPath, stringify(spec));
  return { root, specPath, model };
}

/** A copy of the model folder with one byte changed: another "copy" of the model. */
export function alteredModelCopy(setup: SweepSetup): string {
  const copy = join(setup.root, 'other-copy', 'model');
  cpSync(setup.model, copy, { recursive: true });
  writeFileSync(join(copy, 'model.safetensors'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 9]));
  return copy;
}
