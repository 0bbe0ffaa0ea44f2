// Fault injection (issue 13): `lethe unlearn` killed with SIGKILL at 20 seeded random moments
// (start-up, training steps, checkpoint and model writes alike), resumed after each kill; the
// final model must be byte-identical to an uninterrupted run's, the log must hold every step
// once, and no temporary file or lock may be left behind. The input model is hashed before and
// after. About a minute: some 25 child processes on a tiny model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTempName } from '../../src/io/atomic-write.ts';
import { LOCK_FILE } from '../../src/io/run-lock.ts';
import { guardInputs } from '../helpers/input-guard.ts';
import { forgetFile, lethe, letheChild, tinyModelDir } from '../helpers/tiny-model.ts';

const KILLS = 20;

/** mulberry32: a small seeded generator, so the kill moments are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test(`SIGKILL at ${KILLS} random moments, resumed each time: the same final weights as an uninterrupted run, nothing temporary left`, { timeout: 600_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-faults-'));
  const model = await tinyModelDir(join(root, 'model'));
  forgetFile(join(root, 'f.jsonl'), 8);
  const check = guardInputs(model, join(root, 'f.jsonl'));
  const args = (out: string) => ['unlearn', '--model', 'model', '--method', 'ga', '--forget', 'f.jsonl', '--batch-size', '1', '--accumulation', '1', '--epochs', '2', '--checkpoint-every', '2', '--seed', '5', '--out', out, '--resume'];

  const t0 = Date.now();
  const whole = lethe(root, ...args('whole'));
  assert.equal(whole.status, 0, whole.stderr);
  const span = Date.now() - t0; // start-up and training: where the kills are spread

  // Kills go into one run folder until a run gets through; then a new folder starts, so most
  // kills land in a run that is still training.
  const random = seeded(13);
  const outcomes: string[] = [];
  const folders = ['killed-0'];
  let kills = 0;
  while (kills < KILLS) {
    const out = folders[folders.length - 1];
    const child = letheChild(root, args(out));
    const delay = Math.floor(random() * span * 1.1);
    const ended = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), delay);
    const code = await ended;
    clearTimeout(timer);
    assert.ok(code === null || code === 0, `${out}: exited ${code}`);
    if (code === null) {
      kills++;
      outcomes.push(`${out} killed at ${delay} ms`);
    } else {
      outcomes.push(`${out} finished`);
      folders.push(`killed-${folders.length}`);
    }
  }
  t.diagnostic(`whole run ${span} ms; ${outcomes.join(', ')}`);

  const bytes = (out: string) => readFileSync(join(root, out, 'model', 'model.safetensors'));
  const steps = (out: string) => readFileSync(join(root, out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  for (const out of folders) {
    const last = lethe(root, ...args(out));
    assert.equal(last.status, 0, `${outcomes.join('\n')}\n${last.stderr}`);
    assert.ok(bytes(out).equals(bytes('whole')), `${out}: final weights differ from the uninterrupted run`);
    assert.deepEqual(steps(out), steps('whole'), out);
  }
  const leftovers = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    isTempName(e.name) || e.name === LOCK_FILE ? [join(d, e.name)] : e.isDirectory() ? leftovers(join(d, e.name)) : []);
  assert.deepEqual(leftovers(root), []);
  check();
});
