// The package as a dependent project gets it: `npm pack`, install the tarball into an empty
// temporary project (onnxruntime-node's CUDA download skipped as the README says), typecheck
// the example there against the installed types, and run it: it trains, unlearns with its own
// method, evaluates and writes a report using only `import … from 'lethe'`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lethe-pack-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_fund: 'false', npm_config_audit: 'false' };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 20 * 60 * 1000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

test('the packed package installs into another project and its example runs there with import from lethe', () => {
  // npm pack runs `prepare` (the build) first, so the tarball holds dist/.
  const packed = run(npm, ['pack', '--pack-destination', dir, '--json'], root);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  const files = info.files.map((f) => f.path);
  for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'bin/lethe.js', 'data/tofu/full.jsonl', 'package.json']) assert.ok(files.includes(f), `the tarball holds ${f}`);
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('node_modules/')), 'no tests, sources or node_modules in the tarball');

  const project = join(dir, 'project');
  run('mkdir', ['-p', project], dir);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-lethe', private: true, type: 'module' }));
  run(npm, ['install', '--prefer-offline', '--no-save', join(dir, info.filename)], project);
  copyFileSync(join(root, 'examples', 'forget-an-author.ts'), join(project, 'example.ts'));

  // The example typechecks against the installed declarations.
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')] }, files: ['example.ts'] }));
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], project);

  // The command works from the installed package (the compiled build).
  const version = run(process.execPath, [join(project, 'node_modules', 'lethe', 'bin', 'lethe.js'), '--version'], project);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);

  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
  const out = join(project, 'runs');
  const example = run(process.execPath, ['--import', `file://${tsx}`, 'example.ts', out], project);
  for (const name of ['target', 'retain', 'bounded-ascent']) assert.match(example.stdout, new RegExp(`^${name}: forget quality `, 'm'));
  assert.ok(existsSync(join(out, 'report.html')), 'the example wrote its report');
  const results = JSON.parse(readFileSync(join(out, 'bounded-ascent', 'results.json'), 'utf8')) as { metrics: { tofu: { forgetProb: { value: number } } } };
  const target = JSON.parse(readFileSync(join(out, 'target', 'results.json'), 'utf8')) as typeof results;
  assert.ok(results.metrics.tofu.forgetProb.value < target.metrics.tofu.forgetProb.value, 'the example\'s own method lowered forget Prob');
});
