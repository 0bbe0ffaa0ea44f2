// The sweep commands' thin layers, without training anything: `lethe report DIR` on a sweep folder
// (made here with the fake trial runner) writes the sweep's sections; bad input to `lethe sweep`
// and `lethe worker` is one line and exit 2. (test/pipeline/sweep/real-sweep.test.ts runs
// `lethe sweep` with the real runner.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandSweep, readSweepSpec, runSweep } from '../../src/pipeline/sweep/index.ts';
import { fakeRunner } from '../pipeline/sweep/fake-runner.ts';
import { makeSweepSetup } from '../pipeline/sweep/sweep-setup.ts';

const BIN = fileURLToPath(new URL('../../bin/lethe.js', import.meta.url));

function lethe(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('lethe report DIR on a sweep folder writes the Pareto, best-per-method, seed-spread and sensitivity sections', async () => {
  const setup = makeSweepSetup([0, 1], 2);
  const sweep = await expandSweep(readSweepSpec(setup.specPath));
  const file = await runSweep({ sweep, outDir: join(setup.root, 'sw'), runner: fakeRunner({ logFile: join(setup.root, 'log'), stepMs: 1 }) });
  assert.equal(file.trials.filter((t) => t.status === 'done').length, 12);
  const r = lethe(setup.root, 'report', 'sw', '--out', 'sweep-report.html');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote sweep-report\.html \(sweep tiny: 12\/12 trials done, 0 failed; \d+ on the Pareto front\)/);
  const html = readFileSync(join(setup.root, 'sweep-report.html'), 'utf8');
  for (const id of ['sweep-pareto', 'sweep-best', 'sweep-seeds', 'sweep-sensitivity']) assert.ok(html.includes(`id="${id}"`), `no #${id}`);
  // The sensitivity table names the swept options of each method.
  assert.ok(html.includes('options.gamma') && html.includes('options.beta'));
});

test('lethe sweep and lethe worker: bad input is one line, exit 2', () => {
  const setup = makeSweepSetup();
  const cases: [string[], RegExp][] = [
    [['sweep', 'missing.yaml', '--out', 'x'], /missing\.yaml: sweep file not found/],
    [['sweep', 'sweep.yaml', '--out', 'x', '--queue', 'http://localhost:6379'], /--queue: expected redis:\/\/HOST:PORT/],
    [['worker', '--queue', 'not a url'], /--queue: expected redis:\/\/HOST:PORT/],
  ];
  // A bad loop value is found while each trial is resolved: the line names the file, the field and the value.
  const spec = readFileSync(setup.specPath, 'utf8');
  for (const [file, text, message] of [
    ['bad-state.yaml', spec.replace(/^loop:\n/m, 'loop:\n  optimizerState: fp8\n'), /bad-state\.yaml: loop\.optimizerState: expected one of f32, bf16, got "fp8" \(in the \w+ trial\)$/m],
    ['bad-epochs.yaml', spec.replace(/^ {2}epochs: .*$/m, '  epochs: x'), /bad-epochs\.yaml: loop\.epochs: expected (a number|an integer), got "x" \(in the \w+ trial\)$/m],
  ] as const) {
    assert.notEqual(text, spec, file);
    writeFileSync(join(setup.root, file), text);
    cases.push([['sweep', file, '--out', 'x'], message]);
  }
  for (const [args, message] of cases) {
    const r = lethe(setup.root, ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
});
