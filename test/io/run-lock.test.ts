// One run per folder: the lock file is created exclusively; a live holder (another process)
// stops a second run with its pid and start time; a dead holder's lock is taken over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../src/engine/errors.ts';
import { LOCK_FILE, lockRunFolder } from '../../src/io/run-lock.ts';

const root = mkdtempSync(join(tmpdir(), 'lethe-lock-'));

test('a live holder stops a second run with one line naming pid and start time', async () => {
  const dir = join(root, 'live');
  // Another live process (a sleeping child) holds the lock.
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    writeFileSync(join(root, 'placeholder'), '');
    await lockRunFolder(dir); // creates the folder
    (await lockRunFolder(dir)).release();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: child.pid, host: hostname(), started: '2026-01-02T03:04:05.000Z', command: 'lethe unlearn' }));
    await assert.rejects(lockRunFolder(dir, 'lethe train'), (e: unknown) =>
      e instanceof LetheError && e.exitCode === 2 && e.message.includes(`pid ${child.pid}`) && e.message.includes('started 2026-01-02T03:04:05.000Z') && e.message.includes('lethe unlearn'));
    // untouched
    assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, child.pid);
  } finally {
    child.kill('SIGKILL');
  }
});

test('a stale lock (its process is gone) is recognised and taken over; release removes it', async () => {
  const dir = join(root, 'stale');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  await lockRunFolder(dir).then((l) => l.release());
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid, host: hostname(), started: '2026-01-01T00:00:00.000Z', command: 'lethe unlearn' }));
  const lock = await lockRunFolder(dir, 'lethe unlearn');
  assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  lock.release();
  assert.ok(!existsSync(join(dir, LOCK_FILE)));
  // an unreadable (half-written) lock counts as stale too
  writeFileSync(join(dir, LOCK_FILE), '{"pid": 12');
  (await lockRunFolder(dir)).release();
});

test('two processes racing for one folder: exactly one gets it', async () => {
  const dir = join(root, 'race');
  const script = `import { lockRunFolder } from ${JSON.stringify(new URL('../../src/io/run-lock.ts', import.meta.url).href)};
    try { await lockRunFolder(${JSON.stringify(dir)}); process.stdout.write('got'); setTimeout(() => {}, 3000); }
    catch (e) { process.stdout.write('refused: ' + e.message); }`;
  const run = () => new Promise<string>((done) => {
    const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('close', () => done(out));
  });
  const results = await Promise.all([run(), run(), run()]);
  assert.equal(results.filter((r) => r === 'got').length, 1, results.join('\n'));
  assert.equal(results.filter((r) => r.startsWith('refused: ') && /another run is using this folder/.test(r)).length, 2, results.join('\n'));
});

test('an --out that is an existing file is one line, exit 2', async () => {
  const file = join(root, 'afile');
  writeFileSync(file, 'x');
  await assert.rejects(lockRunFolder(file), (e: unknown) => e instanceof LetheError && e.message.startsWith(`--out ${file}: cannot create the folder (a file of that name exists`));
});
