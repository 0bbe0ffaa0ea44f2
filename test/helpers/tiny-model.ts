// A tiny model folder (the 'tiny' preset with the trained TOFU test tokenizer) and a small forget
// set, for CLI tests that run `lethe unlearn` as a child process.
import { writeFileSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadTofuSplit } from '../../src/data/tofu.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';

export const BIN = fileURLToPath(new URL('../../bin/lethe.js', import.meta.url));

/** Saves a tiny model with its tokenizer in `dir`. */
export async function tinyModelDir(dir: string, seed = 3): Promise<string> {
  const tokenizer = tofuTokenizer();
  const model = createModel(presetConfig('tiny', { vocabSize: tokenizer.vocabSize, maxPositions: 128 }), { seed, initStd: 0.1 });
  await saveModel(model, dir);
  tokenizer.save(dir);
  return dir;
}

/** `n` TOFU forget01 question/answer items as a JSONL file at `path`. */
export function forgetFile(path: string, n: number): string {
  writeFileSync(path, loadTofuSplit('forget01').slice(0, n).map((i) => JSON.stringify({ question: i.question, answer: i.answer })).join('\n') + '\n');
  return path;
}

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `lethe ARGS` as a child process, to completion. */
export function lethe(cwd: string, ...args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '' } });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** `lethe ARGS` started in the background. */
export function letheChild(cwd: string, args: string[], stdio: 'pipe' | 'ignore' = 'ignore'): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd, stdio, env: { ...process.env, CI: '' } });
}
