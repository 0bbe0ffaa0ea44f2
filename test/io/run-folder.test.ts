// Claiming a run folder: the manifest of what lethe created, --overwrite removing only that and
// refusing when an input lies inside what it would remove, and foreign files never replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../src/engine/errors.ts';
import { tempPathFor } from '../../src/io/atomic-write.ts';
import { claimRunFolder, MANIFEST_FILE, readRunManifest } from '../../src/io/run-folder.ts';

const root = mkdtempSync(join(tmpdir(), 'lethe-runfolder-'));
const writes = ['config.yaml', 'checkpoints', 'log.jsonl', 'model'];
const markers = ['checkpoints', 'log.jsonl'];
const claim = (dir: string, o: { resume?: boolean; overwrite?: boolean; inputs?: { path: string; what: string }[] } = {}) =>
  claimRunFolder(dir, { command: 'unlearn', resume: o.resume ?? false, overwrite: o.overwrite ?? false, writes, markers, inputs: o.inputs ?? [] });
const refused = (re: RegExp) => (e: unknown) => e instanceof LetheError && e.exitCode === 2 && re.test(e.message);

test('a new run records what it creates; a second one needs --resume or --overwrite; --overwrite removes only those entries', async () => {
  const dir = join(root, 'a');
  (await claim(dir)).lock.release();
  assert.deepEqual(readRunManifest(dir), writes);
  for (const w of ['checkpoints', 'model']) mkdirSync(join(dir, w));
  writeFileSync(join(dir, 'log.jsonl'), '');
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  await assert.rejects(claim(dir), refused(/already holds a run; add --resume/));
  (await claim(dir, { resume: true })).lock.release();
  const stray = tempPathFor(join(dir, 'model'));
  mkdirSync(stray);
  const claimed = await claim(dir, { overwrite: true });
  claimed.lock.release();
  assert.deepEqual(claimed.removed, writes);
  assert.deepEqual(claimed.removedTemps, [stray]);
  assert.ok(!existsSync(join(dir, 'checkpoints')) && !existsSync(join(dir, 'model')));
  assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
});

test('issue 13.1: a model given as OUT/checkpoints is never removed by --overwrite', async () => {
  const exp = join(root, 'exp');
  const model = join(exp, 'checkpoints');
  mkdirSync(model, { recursive: true });
  writeFileSync(join(model, 'config.json'), '{}');
  await assert.rejects(claim(exp, { overwrite: true, inputs: [{ path: model, what: 'the input model' }] }), refused(/writing .*checkpoints would replace the input model/));
  assert.ok(existsSync(join(model, 'config.json')));
  // Even when the manifest (damaged or forged) lists it, the input inside is refused.
  writeFileSync(join(exp, MANIFEST_FILE), JSON.stringify({ created: ['checkpoints'] }));
  await assert.rejects(claimRunFolder(exp, { command: 'unlearn', resume: false, overwrite: true, writes: ['model'], markers: [], inputs: [{ path: model, what: 'the input model' }] }), refused(/--overwrite .*would replace the input model/));
  assert.ok(existsSync(join(model, 'config.json')));
});

test('files lethe did not write are never replaced; a manifest naming paths outside the folder is ignored', async () => {
  const dir = join(root, 'foreign');
  mkdirSync(join(dir, 'model'), { recursive: true });
  writeFileSync(join(dir, 'model', 'weights'), 'theirs');
  await assert.rejects(claim(dir), refused(/model exists and was not written by lethe/));
  await assert.rejects(claim(dir, { overwrite: true }), refused(/model exists and was not written by lethe/));
  assert.equal(readFileSync(join(dir, 'model', 'weights'), 'utf8'), 'theirs');
  const other = join(root, 'victim');
  mkdirSync(other);
  mkdirSync(join(root, 'evil'), { recursive: true });
  writeFileSync(join(root, 'evil', MANIFEST_FILE), JSON.stringify({ created: ['../victim', '/etc', 'log.jsonl'] }));
  assert.deepEqual(readRunManifest(join(root, 'evil')), ['log.jsonl']);
  writeFileSync(join(root, 'evil', 'log.jsonl'), '');
  (await claim(join(root, 'evil'), { overwrite: true })).lock.release();
  assert.ok(existsSync(other));
});

test('--overwrite never removes through a linked folder named in the manifest; the filesystem root and the home folder are refused', async () => {
  const dir = join(root, 'linked');
  const victim = join(root, 'victim-of-link');
  mkdirSync(join(victim), { recursive: true });
  writeFileSync(join(victim, 'f'), 'keep');
  mkdirSync(dir, { recursive: true });
  symlinkSync(victim, join(dir, 'linkv'));
  writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify({ created: ['linkv/f', 'log.jsonl'] }));
  writeFileSync(join(dir, 'log.jsonl'), '');
  const claimed = await claim(dir, { overwrite: true });
  claimed.lock.release();
  assert.deepEqual(claimed.removed, ['log.jsonl']);
  assert.equal(readFileSync(join(victim, 'f'), 'utf8'), 'keep');
  await assert.rejects(claim('/'), refused(/is the filesystem root/));
  await assert.rejects(claim(homedir()), refused(/is your home folder/));
});
