import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../../src/engine/errors.ts';
import { loadRun, writeReport } from '../../src/report/report.ts';
import { INVALID_RESULTS, VALID_RUN } from './example-runs.ts';

const BIN = fileURLToPath(new URL('../../bin/lethe.js', import.meta.url));

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-report-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a run directory gives its results and log, named after the directory', async () => {
  const run = await loadRun(VALID_RUN);
  assert.equal(run.name, 'npo-forget10');
  assert.equal(run.log?.train.length, 40);
  const byFile = await loadRun(`${VALID_RUN}/results.json`);
  assert.equal(byFile.name, 'npo-forget10');
  assert.equal(byFile.log?.eval.length, 5);
});

test('writeReport writes the page atomically and tells same-named runs apart by path', async () => {
  await withTemp(async (dir) => {
    const other = join(dir, 'b', 'npo-forget10');
    await mkdir(join(dir, 'b'));
    await cp(VALID_RUN, other, { recursive: true });
    await rm(join(other, 'log.jsonl'));
    const out = join(dir, 'report.html');
    assert.deepEqual(await writeReport([VALID_RUN, other], out), { out, runs: 2 });
    const html = await readFile(out, 'utf8');
    assert.ok(html.includes(`>${other}`));
    assert.match(html, /No training log: [^<]*b\/npo-forget10/);
    assert.deepEqual((await readdir(dir)).sort(), ['b', 'report.html']); // no temporary file left
  });
});

test('a missing run or a bad results file is a LetheError naming it', async () => {
  await assert.rejects(writeReport(['no/such/run'], 'x.html'), (err: unknown) => err instanceof LetheError && /^no\/such\/run: no such run/.test(err.message));
  await assert.rejects(writeReport([INVALID_RESULTS], 'x.html'), /invalid-results\.json: metrics\.tofu\.forgetQuality\.value/);
  await assert.rejects(writeReport([], 'x.html'), /at least one run/);
});

test('`lethe report` writes the page, and bad input exits 2 with one line', async () => {
  await withTemp(async (dir) => {
    const out = join(dir, 'r.html');
    const ok = spawnSync(process.execPath, [BIN, 'report', VALID_RUN, '--out', out], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, `lethe: wrote ${out} (1 run)\n`);
    assert.match(await readFile(out, 'utf8'), /<h1>lethe report<\/h1>/);
    const bad = spawnSync(process.execPath, [BIN, 'report', INVALID_RESULTS, '--out', out], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, `lethe: ${INVALID_RESULTS}: metrics.tofu.forgetQuality.value: Invalid input: expected number, received string\n`);
  });
});

test('checkComparable: runs that record other evaluated data are refused, naming the field; runs without the record are not checked', async () => {
  const { checkComparable } = await import('../../src/report/report.ts');
  const { exampleRuns } = await import('./example-runs.ts');
  const runs = exampleRuns();
  const data = (forget: string) => ({ forget: { source: 'f.txt', sha256: forget.repeat(64), items: 3 } });
  runs[0].results.evaluated = { data: data('a'), template: 'plain', tokenizer: 'c'.repeat(64) };
  runs[1].results.evaluated = { data: data('a'), template: 'plain', tokenizer: 'c'.repeat(64) };
  checkComparable(runs);
  runs[1].results.evaluated = { data: data('a'), template: 'chat', tokenizer: 'c'.repeat(64) };
  assert.throws(() => checkComparable(runs), /^LetheError: report: retain: evaluated\.template is "chat" but target's is "plain"; the report compares results only on the same evaluated data$/);
  runs[1].results.evaluated = { data: data('b'), template: 'plain' };
  assert.throws(() => checkComparable(runs), /report: retain: evaluated\.data\.forget\.sha256 differs from target's/);
  // The MUSE run is another table: not compared with TOFU runs.
  runs[1].results.evaluated = runs[0].results.evaluated;
  runs[4].results.evaluated = { data: data('d') };
  checkComparable(runs);
});

test('a run folder without results.json: its one lethe results file of another name, else a message saying what to give', async () => {
  await withTemp(async (dir) => {
    const run = join(dir, 'rmu');
    await mkdir(run);
    await cp(join(VALID_RUN, 'results.json'), join(run, 'mc.json'));
    const loaded = await loadRun(run);
    assert.equal(loaded.name, 'rmu');
    await cp(join(VALID_RUN, 'results.json'), join(run, 'text.json'));
    await assert.rejects(loadRun(run), (e: unknown) => e instanceof LetheError && /holds several results files \(mc\.json, text\.json\)/.test(e.message));
    const seeds = join(dir, 'seeds');
    await mkdir(join(seeds, 'seed-0'), { recursive: true });
    await cp(join(VALID_RUN, 'results.json'), join(seeds, 'seed-0', 'results.json'));
    await assert.rejects(loadRun(seeds), (e: unknown) => e instanceof LetheError && /no results\.json here \(the folders seed-0 hold one: give them\); evaluate the run first/.test(e.message));
  });
});
