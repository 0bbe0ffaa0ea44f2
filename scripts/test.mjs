// Runs every test/**/*.test.ts with Node's own test runner (through tsx). Node 20's runner
// does not expand globs, so the files are listed here. Pass paths or substrings to narrow:
// `npm test -- engine` runs the files whose path contains "engine". `--fast` leaves out the
// end-to-end runs (SLOW below): `npm run test:fast` is the inner loop, `npm test` the full suite.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Files that train models end to end (minutes each).
const SLOW = [
  'test/pipeline/demo.test.ts',
  'test/pipeline/capability-demo.test.ts',
  'test/pipeline/tofu-pipeline.test.ts',
  'test/package/pack-install.test.ts',
  'test/unlearn/end-to-end.test.ts',
  'test/attacks/relearn.test.ts',
  'test/attacks/attack-command.test.ts',
  'test/cli/commands.test.ts',
  'test/report/browser.test.ts',
  'test/pipeline/sweep/real-sweep.test.ts',
];

const root = fileURLToPath(new URL('..', import.meta.url));
function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : name.endsWith('.test.ts') ? [path] : [];
  });
}
const args = process.argv.slice(2);
const fast = args.includes('--fast');
const filters = args.filter((a) => a !== '--fast');
const files = walk(join(root, 'test'))
  .map((f) => relative(root, f).split('\\').join('/'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .filter((f) => !fast || !SLOW.includes(f))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// One file at a time: each test uses every core through ONNX Runtime already. The tiny trained
// TOFU target the slow tests share is built once per run (test/helpers/tiny-target.ts caches it
// in this folder, removed at the end).
const cache = join(root, '.lethe-cache', `test-run-${process.pid}`);
// The tests' temporary folders (os.tmpdir(), also in the commands they start) go into one folder
// of this run, removed at the end: a test that fails, or forgets to clean up, leaves nothing.
const tmp = mkdtempSync(join(tmpdir(), 'lethe-test-run-'));
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TMPDIR: tmp, LETHE_TEST_CACHE: process.env.LETHE_TEST_CACHE ?? cache },
});
if (!process.env.LETHE_TEST_CACHE) rmSync(cache, { recursive: true, force: true });
rmSync(tmp, { recursive: true, force: true });
process.exit(result.status ?? 1);
