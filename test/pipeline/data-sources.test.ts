// Where command data comes from, and the guard that keeps outputs out of the input model folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutsideModel, isInside, pairsFromFile, retainSplitFor } from '../../src/pipeline/data-sources.ts';
import { plainTemplate } from '../../src/data/templates.ts';
import { LetheError } from '../../src/engine/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-cli-data-'));

test('isInside follows symbolic links and works for folders that do not exist yet', () => {
  const model = join(dir, 'model');
  mkdirSync(model);
  symlinkSync(model, join(dir, 'alias'));
  assert.ok(isInside(join(model, 'a', 'b'), model));
  assert.ok(isInside(join(dir, 'alias', 'new'), model));
  assert.ok(isInside(model, model));
  assert.ok(!isInside(join(dir, 'model-2'), model));
  assert.ok(!isInside(dir, model));
});

test('checkOutsideModel refuses an output inside the model, or whose model/ would be the model', () => {
  const run = join(dir, 'run');
  mkdirSync(join(run, 'model'), { recursive: true });
  assert.throws(() => checkOutsideModel(join(run, 'model', 'x'), join(run, 'model')), (e: unknown) => e instanceof LetheError && /is inside the input model folder/.test(e.message));
  assert.throws(() => checkOutsideModel(run, join(run, 'model')), (e: unknown) => e instanceof LetheError && /its model\/ folder would replace the input model/.test(e.message));
  checkOutsideModel(join(dir, 'elsewhere'), join(run, 'model'));
});

test('a .jsonl file gives question/answer pairs through the template, other files one document a line with an empty prompt', () => {
  writeFileSync(join(dir, 'qa.jsonl'), '{"question": "Who?", "answer": "Me."}\n');
  writeFileSync(join(dir, 'docs.txt'), 'first document\n\nsecond document\n');
  // Each pair carries its file and 1-based line, for error messages.
  assert.deepEqual(pairsFromFile(join(dir, 'qa.jsonl'), plainTemplate()), [{ prompt: 'Question: Who?\nAnswer: ', target: 'Me.', source: { file: join(dir, 'qa.jsonl'), line: 1 } }]);
  assert.deepEqual(pairsFromFile(join(dir, 'docs.txt'), plainTemplate()), [
    { prompt: '', target: 'first document', source: { file: join(dir, 'docs.txt'), line: 1 } },
    { prompt: '', target: 'second document', source: { file: join(dir, 'docs.txt'), line: 3 } },
  ]);
  assert.throws(() => pairsFromFile(join(dir, 'none.jsonl'), plainTemplate()), /none\.jsonl: file not found/);
});

test('the retain split of a forget split', () => {
  assert.equal(retainSplitFor('forget01'), 'retain99');
  assert.equal(retainSplitFor('forget10_perturbed'), 'retain90');
  assert.throws(() => retainSplitFor('full'), /not a TOFU forget split/);
});
