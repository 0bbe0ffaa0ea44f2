// Every write goes through one exclusive temp-file helper: a random name in the destination
// folder opened with 'wx' (never through a planted symbolic link), flushed, renamed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../src/engine/errors.ts';
import { isTempName, makeTempDir, removeStrayTemps, tempPathFor, writeFileAtomic, writeFileAtomicSync } from '../../src/io/atomic-write.ts';
import { tokenizerFromJson } from '../../src/models/tokenizer/tokenizer.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-atomic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('temporary names are random, in the destination folder, and recognised', () => {
  const a = tempPathFor(join(dir, 'x.json'));
  const b = tempPathFor(join(dir, 'x.json'));
  assert.notEqual(a, b);
  assert.ok(a.startsWith(join(dir, '.x.json.tmp-')));
  assert.ok(isTempName(a.slice(dir.length + 1)));
  assert.ok(!isTempName('x.json') && !isTempName('.x.json') && !isTempName(`x.json.${process.pid}.tmp`));
});

test('writeFileAtomic and its sync twin write the whole file and leave no temporary behind', async () => {
  await writeFileAtomic(join(dir, 'a.txt'), 'hello');
  await writeFileAtomic(join(dir, 'a.txt'), [Buffer.from('new '), Buffer.from('text')]);
  writeFileAtomicSync(join(dir, 'b.txt'), 'sync');
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'new text');
  assert.equal(readFileSync(join(dir, 'b.txt'), 'utf8'), 'sync');
  assert.deepEqual(readdirSync(dir).filter(isTempName), []);
});

test('a write into a missing folder is one LetheError naming the path', async () => {
  const missing = join(dir, 'nowhere', 'f.txt');
  await assert.rejects(writeFileAtomic(missing, 'x'), (e: unknown) => e instanceof LetheError && e.message.startsWith(`${missing}: could not write the file (ENOENT`));
  assert.throws(() => writeFileAtomicSync(missing, 'x'), (e: unknown) => e instanceof LetheError && /ENOENT/.test(e.message));
});

test('planted symbolic links at the old predictable names are never followed (tokenizer save)', () => {
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'precious');
  const out = join(dir, 'tok');
  mkdirSync(out);
  // The old code wrote through `tokenizer.json.<pid>.tmp`: plant links for a range of pids.
  for (let pid = process.pid - 5; pid < process.pid + 5; pid++) {
    symlinkSync(victim, join(out, `tokenizer.json.${pid}.tmp`));
    symlinkSync(victim, join(out, `tokenizer_config.json.${pid}.tmp`));
  }
  tofuTokenizer().save(out);
  assert.equal(readFileSync(victim, 'utf8'), 'precious');
  assert.ok(tokenizerFromJson(JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8'))).vocabSize > 0);
});

test('makeTempDir is exclusive and ordinary; removeStrayTemps removes only temporaries', async () => {
  const target = join(dir, 'model');
  const t1 = await makeTempDir(target);
  const t2 = await makeTempDir(target);
  assert.notEqual(t1, t2);
  assert.equal(statSync(t1).mode & 0o700, 0o700);
  writeFileSync(join(dir, 'keep.txt'), 'k');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(tempPathFor(join(dir, 'sub', 'deep.json')), 'half');
  const removed = await removeStrayTemps(dir);
  assert.ok(removed.includes(t1) && removed.includes(t2));
  assert.deepEqual(readdirSync(join(dir, 'sub')), []);
  assert.ok(existsSync(join(dir, 'keep.txt')));
});
