// The scale benchmark's harness on its few-MB stand-in model: the command's last stdout line is
// the one JSON object issue 15 specifies, --case filters, an unknown case is one line and exit 2,
// the checkpoint is the HF layout lethe loads, and both sides score the same checkpoint to the
// same log-probs (so the PyTorch peer computes what lethe does). The PyTorch side runs when a
// Python with torch is found and is skipped with a message otherwise.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/models/load-model.ts';
import { findTorchPython } from '../../bench/peer.ts';
import { parameterCount, TINY, LLAMA_1B, SMOLLM_360M } from '../../bench/scale-checkpoint.ts';
import { prepareCase, runLetheSide, runPeerSide } from '../../bench/scale.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const python = findTorchPython();
const noTorch = python === null ? 'no Python with torch found: the PyTorch side is skipped' : false;

function bench(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'scale', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, LETHE_THREADS: '1' } });
}

test('the shapes hold the parameter counts of the models they stand for', () => {
  assert.equal(parameterCount(LLAMA_1B), 1_235_814_400); // Llama-3.2-1B, tied head
  assert.equal(parameterCount(SMOLLM_360M), 361_821_120); // SmolLM2-360M
});

test('scale --tiny --json: the last line is {"suite":"scale","cases":[…],"min_ratio"}', () => {
  const r = bench(['--tiny', '--json', '--steps', '1', '--warmup', '1', '--case', 'llama1b_scoring', '--case', 'smollm360m_full_npo']);
  assert.equal(r.status, 0, r.stderr);
  const last = r.stdout.trim().split('\n').pop()!;
  const json = JSON.parse(last) as { suite: string; cases: Record<string, unknown>[]; min_ratio: number | null };
  assert.equal(json.suite, 'scale');
  assert.deepEqual(json.cases.map((c) => c.name), ['llama1b_scoring', 'smollm360m_full_npo']);
  for (const c of json.cases) {
    assert.deepEqual(Object.keys(c), ['name', 'lethe', 'peer', 'unit', 'ratio', 'lethe_rss_mib', 'peer_rss_mib', 'lethe_session_seconds']);
    assert.ok(typeof c.lethe_session_seconds === 'number' && c.lethe_session_seconds >= 0, 'session creation timed (0.0 s for a tiny program)');
    assert.equal(c.unit, 'tokens/s');
    assert.ok((c.lethe as number) > 0 && (c.lethe_rss_mib as number) > 0);
    if (python === null) {
      assert.equal(c.peer, null);
      assert.equal(c.ratio, null);
    } else {
      assert.ok((c.peer as number) > 0 && (c.peer_rss_mib as number) > 0);
      // ratio is rounded from the unrounded rates, lethe and peer are rounded to 2 decimals
      assert.ok(Math.abs((c.ratio as number) - (c.lethe as number) / (c.peer as number)) < 0.01 * (c.ratio as number) + 1e-3);
    }
  }
  if (python === null) assert.equal(json.min_ratio, null);
  else assert.equal(json.min_ratio, Math.min(...json.cases.map((c) => c.ratio as number)));
});

test('scale --case with an unknown name: one line naming the known cases, exit 2', () => {
  const r = bench(['--tiny', '--case', 'llama7b']);
  assert.equal(r.status, 2);
  assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
  assert.match(r.stderr.trim().split('\n').pop()!, /^bench: --case: unknown case "llama7b"; known: llama1b_lora_npo, llama1b_scoring, llama1b_generate, smollm360m_full_npo$/);
});

test('the checkpoint loads in lethe, and both sides score it to the same answer log-probs', { skip: noTorch }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-scale-test-'));
  try {
    const args = prepareCase('scoring', TINY, dir, { steps: 1, warmup: 1, loraDropout: 0, tiny: true });
    const model = await loadModel(dir);
    assert.equal(model.config.numLayers, TINY.layers);
    assert.equal(model.config.vocabSize, TINY.vocab);
    const batches = JSON.parse(readFileSync(args[2], 'utf8')) as { forget: number[][] };
    assert.equal(batches.forget.length, 2);
    const lethe = runLetheSide(args, 1);
    const peer = runPeerSide(python!, args, 1);
    assert.ok(Number.isFinite(lethe.check) && lethe.check! < 0);
    // fp32 both sides from the same bf16 weights: only summation order differs.
    assert.ok(Math.abs(lethe.check! - peer.check!) < 1e-4, `lethe ${lethe.check} vs torch ${peer.check}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
