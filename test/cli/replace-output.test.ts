// --out replaces only lethe's own earlier output: naming a data file, a source file or another
// tool's JSON exits 2 and leaves the file as it was; naming an earlier output of the same
// command replaces it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkReplaceable } from '../../src/io/paths.ts';
import { LetheError } from '../../src/engine/errors.ts';
import { lethe, tinyModelDir } from '../helpers/tiny-model.ts';

test('checkReplaceable: new paths and folders pass; each kind recognises its own output only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-replace-'));
  checkReplaceable(join(dir, 'new.json'), '--out', 'results');
  checkReplaceable(dir, '--out', 'results');
  const results = join(dir, 'results.json');
  writeFileSync(results, '{\n  "schema": "lethe.results/1",\n  "model": {}\n}\n');
  checkReplaceable(results, '--out', 'results');
  assert.throws(() => checkReplaceable(results, '--out', 'attacks'), LetheError);
  const attacks = join(dir, 'attacks.json');
  writeFileSync(attacks, '{\n  "quantize_8bit": {\n    "before": { "forgetProb": 0.1 }\n  }\n}\n');
  checkReplaceable(attacks, '--out', 'attacks');
  const page = join(dir, 'report.html');
  writeFileSync(page, '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>lethe report: a, b</title>\n');
  checkReplaceable(page, '--out', 'report');
  for (const [name, text] of [['notes.md', '# notes\n'], ['other.json', '{"version": 1}\n'], ['data.jsonl', '{"question": "q", "answer": "a"}\n'], ['page.html', '<!DOCTYPE html><html><head><title>mine</title>']]) {
    const path = join(dir, name);
    writeFileSync(path, text);
    for (const kind of ['results', 'attacks', 'report'] as const) {
      assert.throws(() => checkReplaceable(path, '--out', kind), (e: unknown) => e instanceof LetheError && e.message.includes(`--out ${path}: exists and is not a lethe`), `${name} as ${kind}`);
    }
  }
});

test('lethe eval and lethe report: --out naming a file lethe did not write exits 2 and keeps it; their own output is replaced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-replace-cli-'));
  const model = await tinyModelDir(join(dir, 'model'));
  const notes = join(dir, 'notes.txt');
  writeFileSync(notes, 'my notes\n');
  const evalArgs = ['eval', '--benchmark', 'tofu', '--model', model, '--tofu-authors', '3', '--forget-authors', '1', '--max-new-tokens', '0'];
  const refused = lethe(dir, ...evalArgs, '--out', notes);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /notes\.txt: exists and is not a lethe results file/);
  assert.equal(readFileSync(notes, 'utf8'), 'my notes\n');
  const first = lethe(dir, ...evalArgs, '--out', 'r.json');
  assert.equal(first.status, 0, first.stderr);
  const again = lethe(dir, ...evalArgs, '--out', 'r.json');
  assert.equal(again.status, 0, again.stderr);
  const report = lethe(dir, 'report', 'r.json', '--out', notes);
  assert.equal(report.status, 2, report.stderr);
  assert.match(report.stderr, /not a lethe report/);
  assert.equal(readFileSync(notes, 'utf8'), 'my notes\n');
  assert.equal(lethe(dir, 'report', 'r.json', '--out', 'page.html').status, 0);
  const replaced = lethe(dir, 'report', 'r.json', '--out', 'page.html');
  assert.equal(replaced.status, 0, replaced.stderr);
});
