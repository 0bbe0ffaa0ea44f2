// `--optimizer-state bf16` from the command line: recorded in config.yaml, the checkpoints hold
// the moments as BF16, the memory estimate's training state shrinks by their half, a resume must
// keep the setting, a bad value is one line, and the unlearning still moves the forget loss.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readSafetensorsFile } from '../../src/models/formats/safetensors.ts';
import { forgetFile, lethe, tinyModelDir } from '../helpers/tiny-model.ts';

const root = mkdtempSync(join(tmpdir(), 'lethe-optstate-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
before(async () => {
  await tinyModelDir(join(root, 'model'));
  forgetFile(join(root, 'f.jsonl'), 4);
});

const common = ['unlearn', '--model', 'model', '--method', 'ga', '--forget', 'f.jsonl', '--batch-size', '2', '--epochs', '2', '--checkpoint-every', '1', '--max-memory', '64'];
const trainingState = (stdout: string) => Number(/training state (\d+\.\d+) GiB/.exec(stdout)?.[1]);

test('--optimizer-state bf16: recorded, BF16 moments in the checkpoints, half the state in the estimate, resumed only with it', async () => {
  const f32 = lethe(root, ...common, '--out', 'f32');
  assert.equal(f32.status, 0, f32.stderr);
  const bf16 = lethe(root, ...common, '--optimizer-state', 'bf16', '--out', 'bf16');
  assert.equal(bf16.status, 0, bf16.stderr);
  assert.match(readFileSync(join(root, 'bf16', 'config.yaml'), 'utf8'), /optimizerState: bf16/);
  assert.doesNotMatch(readFileSync(join(root, 'f32', 'config.yaml'), 'utf8'), /^optimizerState/m);
  // The estimate's training state is moments + gradients: 2·4 + 4 bytes per value in float32, 2·2 + 4 in bfloat16.
  const [a, b] = [trainingState(f32.stdout), trainingState(bf16.stdout)];
  assert.ok(a > 0 && b > 0, `${f32.stdout}\n${bf16.stdout}`);
  assert.ok(Math.abs(b / a - 8 / 12) < 0.05, `training state ${b} GB against ${a} GB`);
  const ckpts = readdirSync(join(root, 'bf16', 'checkpoints')).filter((d) => d.startsWith('step-'));
  const state = await readSafetensorsFile(join(root, 'bf16', 'checkpoints', ckpts.at(-1)!, 'state.safetensors'));
  const dtypes = state.storedDtypes;
  const moments = [...dtypes].filter(([n]) => /\.adam_[mv]$/.test(n));
  assert.ok(moments.length > 0 && moments.every(([, d]) => d === 'BF16'), JSON.stringify(moments.slice(0, 3)));
  assert.ok([...dtypes].filter(([n]) => !/\.adam_[mv]$/.test(n)).every(([, d]) => d === 'F32'), 'the parameters stay F32');
  // A resume keeps the saved setting (flags left out take it); changing it is refused, since it changes what a step computes.
  const changed = lethe(root, ...common, '--optimizer-state', 'f32', '--resume', '--out', 'bf16');
  assert.equal(changed.status, 2, changed.stderr);
  assert.match(changed.stderr, /config\.yaml has optimizerState: "bf16" but this run asks "f32"/);
  const same = lethe(root, ...common, '--resume', '--out', 'bf16');
  assert.equal(same.status, 0, same.stderr);
});

test('--optimizer-state with a bad value is one line and exit 2, nothing written', () => {
  const r = lethe(root, ...common, '--optimizer-state', 'fp8', '--out', 'bad');
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /optimizerState|--optimizer-state/);
  assert.match(r.stderr, /f32.*bf16/);
  assert.equal(existsSync(join(root, 'bad')), false);
});

test('--optimizer-state bf16 with SGD without momentum: a notice that there is no state, nothing recorded', () => {
  const r = lethe(root, ...common, '--optimizer', 'sgd', '--optimizer-state', 'bf16', '--out', 'sgd');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /--optimizer-state bf16: SGD without momentum keeps no optimiser state/);
  assert.doesNotMatch(readFileSync(join(root, 'sgd', 'config.yaml'), 'utf8'), /^optimizerState/m);
  // With momentum there is state, and it is kept in bfloat16.
  const m = lethe(root, ...common, '--optimizer', 'sgd', '--momentum', '0.9', '--optimizer-state', 'bf16', '--out', 'sgd-m');
  assert.equal(m.status, 0, m.stderr);
  assert.doesNotMatch(m.stderr, /keeps no optimiser state/);
  assert.match(readFileSync(join(root, 'sgd-m', 'config.yaml'), 'utf8'), /optimizerState: bf16/);
});
