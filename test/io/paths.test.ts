// The one containment rule: whole path components (so `model/..run` is inside `model`),
// symbolic links followed, folders that do not exist yet handled, and the write/read check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetheError } from '../../src/engine/errors.ts';
import { checkWritesOutsideInputs, isInside, realPath } from '../../src/io/paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-paths-'));
const model = join(dir, 'model');
mkdirSync(model);
symlinkSync(model, join(dir, 'alias'));

test('isInside: names beginning with ".." are inside; "../x" and siblings are not', () => {
  assert.ok(isInside(join(model, '..run'), model));
  assert.ok(isInside(join(model, '..'+'.hidden', 'deep'), model));
  assert.ok(!isInside(join(model, '..', 'run'), model));
  assert.ok(!isInside(join(dir, 'model-2'), model));
  assert.ok(!isInside(join(dir, 'mode'), model));
  assert.ok(isInside(model, model));
  assert.ok(!isInside(dir, model));
});

test('isInside follows symbolic links, also below paths that do not exist yet', () => {
  assert.ok(isInside(join(dir, 'alias', 'new', 'deeper'), model));
  assert.ok(isInside(model, join(dir, 'alias')));
  assert.equal(realPath(join(dir, 'alias', 'x')), join(realPath(model), 'x'));
  // a symlinked output folder pointing into the model
  symlinkSync(join(model, 'sub'), join(dir, 'out-link'));
  assert.ok(isInside(join(dir, 'out-link', 'run'), model));
});

test('checkWritesOutsideInputs: an output inside an input, or an input inside what is replaced, is one LetheError', () => {
  const data = join(dir, 'forget.jsonl');
  writeFileSync(data, '{}\n');
  const inputs = [{ path: model, what: 'the input model' }, { path: data, what: 'the forget set' }];
  const refuses = (out: string, replaces: string[] | undefined, re: RegExp) =>
    assert.throws(() => checkWritesOutsideInputs({ path: out, flag: '--out', replaces }, inputs), (e: unknown) => e instanceof LetheError && e.exitCode === 2 && re.test(e.message));
  refuses(join(model, '..run'), ['model'], /is inside the input model/);
  refuses(join(dir, 'alias', 'run'), ['model'], /is inside the input model/);
  refuses(dir, ['model'], /writing .*model would replace the input model/);
  refuses(data, undefined, /: is the forget set /);
  refuses(dir, ['forget.jsonl'], /would replace the forget set/);
  checkWritesOutsideInputs({ path: join(dir, 'run'), flag: '--out', replaces: ['model', 'log.jsonl'] }, inputs);
  checkWritesOutsideInputs({ path: dir, flag: '--out', replaces: ['run/model'] }, inputs);
});
