// `lethe unlearn` as a careless or hostile user runs it (issue 13): two runs into one folder,
// an output inside the input (`model/..run`), --overwrite over a folder holding the input, a
// diverging run, a closed stdout, non-finite input weights and unwritable outputs. Each must
// leave the input model byte-identical (hashed before and after) and end with one line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTempName } from '../../src/io/atomic-write.ts';
import { loadModel } from '../../src/models/load-model.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { guardInputs } from '../helpers/input-guard.ts';
import { forgetFile, lethe, letheChild, tinyModelDir } from '../helpers/tiny-model.ts';

const root = mkdtempSync(join(tmpdir(), 'lethe-safety-'));
const model = join(root, 'model');
let checkInput: () => void;
const UNLEARN = ['unlearn', '--model', 'model', '--method', 'ga', '--forget', 'f.jsonl', '--batch-size', '1', '--accumulation', '1'];
const oneLine = (stderr: string) => assert.equal(stderr.trim().split('\n').length, 1, stderr);

before(async () => {
  await tinyModelDir(model);
  forgetFile(join(root, 'f.jsonl'), 6);
  checkInput = guardInputs(model, join(root, 'f.jsonl'));
});
after(() => checkInput());

const exitOf = (c: ReturnType<typeof letheChild>) => new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
  let stdout = '';
  let stderr = '';
  c.stdout?.on('data', (d) => (stdout += d));
  c.stderr?.on('data', (d) => (stderr += d));
  c.on('close', (code) => done({ code, stdout, stderr }));
});

test('two runs into the same --out 0.05 s apart: one runs, the other exits 2 naming the holder', async () => {
  const a = letheChild(root, [...UNLEARN, '--epochs', '3', '--out', 'race'], 'pipe');
  await new Promise((r) => setTimeout(r, 50));
  const b = letheChild(root, [...UNLEARN, '--epochs', '3', '--out', 'race'], 'pipe');
  const [ra, rb] = await Promise.all([exitOf(a), exitOf(b)]);
  const codes = [ra.code, rb.code].sort();
  assert.deepEqual(codes, [0, 2], `${ra.stderr}\n${rb.stderr}`);
  const loser = ra.code === 2 ? ra : rb;
  const winner = ra.code === 2 ? b : a;
  assert.match(loser.stderr, new RegExp(`^lethe: --out \\S*race: another run is using this folder \\(lethe unlearn, pid ${winner.pid}, started \\d{4}-\\d\\d-\\d\\dT[^)]*\\); wait for it`));
  oneLine(loser.stderr);
  const log = readdirSync(join(root, 'race'));
  assert.ok(log.includes('model') && !log.includes('.lethe-lock'), log.join(' '));
});

test('--out model/..run is inside the input and refused', () => {
  const r = lethe(root, ...UNLEARN, '--out', 'model/..run');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^lethe: --out \S*model\/\.\.run: is inside the input model folder/);
  assert.ok(!existsSync(join(model, '..run')));
});

test('eval, attack and report refuse an --out inside or equal to what they read', () => {
  for (const [args, re] of [
    [['eval', '--model', 'model', '--authors', '3', '--forget-authors', '1', '--out', 'model/..e.json'], /^lethe: --out \S*model\/\.\.e\.json: is inside the input model \S*model;/],
    [['attack', '--model', 'model', '--out', 'model/..a.json'], /^lethe: --out model\/\.\.a\.json: is inside the input model model;/],
    [['report', 'f.jsonl', 'old.json', '--out', 'old.json'], /^lethe: --out old\.json: is the input old\.json;/],
  ] as const) {
    const r = lethe(root, ...args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, re);
    oneLine(r.stderr);
  }
  assert.ok(!existsSync(join(model, '..e.json')) && !existsSync(join(model, '..a.json')));
});

test('issue 13.1: --overwrite over a folder whose checkpoints/ is the input model refuses and removes nothing', () => {
  const exp = join(root, 'exp');
  mkdirSync(exp);
  cpSync(model, join(exp, 'checkpoints'), { recursive: true });
  const guard = guardInputs(join(exp, 'checkpoints'));
  const r = lethe(root, 'unlearn', '--model', 'exp/checkpoints', '--method', 'ga', '--forget', 'f.jsonl', '--out', 'exp', '--overwrite');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^lethe: --out \S*exp: writing \S*exp\/checkpoints would replace the input model \S*exp\/checkpoints/);
  oneLine(r.stderr);
  guard();
});

test('issue 13.5: a diverging run exits 3 saying which weights it wrote; those are the last weights a finite loss vouched for', async () => {
  const r = lethe(root, ...UNLEARN, '--lr', '1e9', '--warmup-steps', '0', '--checkpoint-every', '1', '--out', 'diverged');
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /^lethe: unlearn diverged: (loss|gradient norm) became (NaN|-?Infinity) at step \d+; .*; .*diverged\/model holds the weights of step \d+\n$/);
  const input = await loadModel(model);
  const out = await loadModel(join(root, 'diverged', 'model'));
  if (/holds the weights of step 0/.test(r.stderr)) for (const [n, t] of input.params) assert.deepEqual(out.params.get(n)!.data, t.data, n);
  for (const t of out.params.values()) assert.ok((t.data as Float32Array).every(Number.isFinite));
});

test('issues 13.6 and 13.7 through the CLI: a damaged newest checkpoint is skipped with a notice, a torn log line dropped; nothing intact: exit 2 naming the file', () => {
  const args = [...UNLEARN, '--checkpoint-every', '1', '--out', 'damaged'];
  assert.equal(lethe(root, ...args).status, 0);
  const ckpts = join(root, 'damaged', 'checkpoints');
  const names = readdirSync(ckpts).filter((n) => n.startsWith('step-')).sort();
  assert.equal(names.length, 2);
  writeFileSync(join(ckpts, names[1], 'meta.json'), '{}');
  appendFileSync(join(root, 'damaged', 'log.jsonl'), '{"step": 9, "lo');
  const resumed = lethe(root, ...args, '--resume');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`^lethe unlearn: skipped a damaged checkpoint \\(\\S*${names[1]}/meta\\.json: damaged checkpoint: step: missing\\); resumed from \\S*${names[0]}$`, 'm'));
  assert.match(resumed.stderr, /log\.jsonl: dropped 1 cut line/);
  assert.doesNotMatch(resumed.stderr, /SyntaxError|\n\s+at /);
  for (const n of readdirSync(ckpts).filter((n) => n.startsWith('step-'))) writeFileSync(join(ckpts, n, 'state.safetensors'), 'x');
  const broken = lethe(root, ...args, '--resume');
  assert.equal(broken.status, 2);
  assert.match(broken.stderr, /^lethe: no intact checkpoint in \S*checkpoints \(newest: \S*step-\d+\/state\.safetensors: damaged checkpoint: its contents do not match the checksum/);
  oneLine(broken.stderr);
});

test('issue 13.10: a closed stdout (`| head -1`) stops the printing, not the run', async () => {
  const c = letheChild(root, [...UNLEARN, '--epochs', '2', '--out', 'piped'], 'pipe');
  c.stdout!.once('data', () => c.stdout!.destroy());
  const r = await exitOf(c);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(root, 'piped', 'model', 'model.safetensors')));
  assert.doesNotMatch(r.stderr, /EPIPE|at /);
});

test('issue 13.8: a NaN weight in the input model is one line naming the tensor, exit 2', async () => {
  const m = await loadModel(model);
  (m.params.get('model.norm.weight')!.data as Float32Array)[3] = NaN;
  const bad = join(root, 'bad-model');
  await saveModel(m, bad);
  cpSync(join(model, 'tokenizer.json'), join(bad, 'tokenizer.json'));
  const r = lethe(root, 'unlearn', '--model', 'bad-model', '--method', 'ga', '--forget', 'f.jsonl', '--out', 'nan-run');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^lethe: \S*bad-model: tensor "model\.norm\.weight" holds NaN \(flat index 3\); .*LETHE_SKIP_FINITE_CHECK=1/);
  oneLine(r.stderr);
});

test('issue 13.11: an --out that cannot be created is one line naming it; LETHE_DEBUG=1 adds the stack', () => {
  const r = lethe(root, ...UNLEARN, '--out', '/dev/null/run');
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'lethe: --out /dev/null/run: cannot create the folder (a part of the path is a file, not a folder); choose another --out\n');
  const debug = lethe(root, ...UNLEARN, '--out', '/dev/null/run');
  assert.equal(debug.status, 2);
  process.env.LETHE_DEBUG = '1';
  try {
    const withStack = lethe(root, ...UNLEARN, '--out', '/dev/null/run');
    assert.match(withStack.stderr, /^lethe: --out \/dev\/null\/run: cannot create the folder \(a part of the path is a file, not a folder\); choose another --out\n\S*Error: .*\n\s+at /);
  } finally {
    delete process.env.LETHE_DEBUG;
  }
});

test('issue 13.11: a YAML alias bomb in --config is one line, exit 2', () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
  writeFileSync(join(root, 'bomb.yaml'), lines.join('\n') + '\n');
  const r = lethe(root, 'unlearn', '--config', 'bomb.yaml', '--out', 'bomb');
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, 'lethe: bomb.yaml: not valid YAML: Excessive alias count indicates a resource exhaustion attack\n');
});

test('no temporary files are left in any run folder', () => {
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (isTempName(e.name) ? [join(d, e.name)] : e.isDirectory() ? walk(join(d, e.name)) : []));
  assert.deepEqual(walk(root), []);
  rmSync(join(root, 'exp'), { recursive: true, force: true });
});

test('a run folder moved elsewhere resumes there (the saved config names the old --out)', () => {
  const args = [...UNLEARN, '--checkpoint-every', '1', '--epochs', '2'];
  assert.equal(lethe(root, ...args, '--out', 'before-move').status, 0);
  const ckpts = join(root, 'before-move', 'checkpoints');
  const names = readdirSync(ckpts).filter((n) => n.startsWith('step-')).sort();
  rmSync(join(ckpts, names[names.length - 1]), { recursive: true }); // as if stopped before the last step's checkpoint
  cpSync(join(root, 'before-move'), join(root, 'after-move'), { recursive: true });
  rmSync(join(root, 'before-move'), { recursive: true });
  const resumed = lethe(root, 'unlearn', '--resume', '--out', 'after-move');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /resumed from step \d+/);
  assert.match(resumed.stdout, /after-move\/model/);
  assert.equal(existsSync(join(root, 'before-move')), false);
});

test('--resume with --overwrite is one line, exit 2, and touches nothing', () => {
  const r = lethe(root, ...UNLEARN, '--out', 'both-flags', '--resume', '--overwrite');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--resume and --overwrite: give one/);
  oneLine(r.stderr);
  assert.equal(existsSync(join(root, 'both-flags')), false);
});

test('newcomer trial: an --out under /proc is one line (Node\'s recursive mkdir never returned there)', () => {
  const r = lethe(root, ...UNLEARN, '--out', '/proc/lethe-run-test');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^lethe: --out \/proc\/lethe-run-test: cannot create the folder/);
  oneLine(r.stderr);
});

test('newcomer trial: every forget item overlong and skipped is refused before the run folder exists; --seeds above 100 and a --vocab-size below 257 are refused by the schema', () => {
  const long = join(root, 'all-long.jsonl');
  writeFileSync(long, JSON.stringify({ question: 'Who? '.repeat(200), answer: 'x' }) + '\n');
  const r = lethe(root, 'unlearn', '--model', 'model', '--method', 'ga', '--forget', 'all-long.jsonl', '--overlong', 'skip', '--out', 'all-long');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^lethe: the forget set is empty after --overlong skip: all 1 items are longer than the 128-token context \(first: \S*all-long\.jsonl:1\)/m);
  assert.equal(existsSync(join(root, 'all-long')), false);
  const many = lethe(root, ...UNLEARN, '--seeds', '1000000', '--out', 'many-seeds');
  assert.equal(many.status, 2, many.stderr);
  assert.match(many.stderr, /--seeds.*expected an integer from 1 to 100/);
  assert.equal(existsSync(join(root, 'many-seeds')), false);
  const vocab = lethe(root, 'train', '--preset', 'tiny', '--tofu-authors', '2', '--forget-authors', '1', '--vocab-size', '100', '--out', 'small-vocab');
  assert.equal(vocab.status, 2, vocab.stderr);
  assert.match(vocab.stderr, /--vocab-size.*expected an integer from 257/);
  assert.equal(existsSync(join(root, 'small-vocab')), false);
});

test('--resume on a folder that holds no run says so and starts one', () => {
  const r = lethe(root, ...UNLEARN, '--out', 'resume-fresh', '--resume');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^lethe unlearn: --resume: nothing to resume in \S*resume-fresh \(no config\.yaml\); starting a new run$/m);
});

test('lethe eval: a set whose every item is overlong is one line naming the set and the first file:line, nothing written', () => {
  const long = join(root, 'eval-long.jsonl');
  writeFileSync(long, JSON.stringify({ question: 'Who? '.repeat(200), answer: 'x' }) + '\n');
  const r = lethe(root, 'eval', '--benchmark', 'qa', '--model', 'model', '--forget-qa', 'eval-long.jsonl', '--retain-qa', 'f.jsonl', '--out', 'eval-long.json');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^lethe: the forget set is empty after --overlong skip: all 1 items are longer than the 128-token context \(first: \S*eval-long\.jsonl:1\)/);
  oneLine(r.stderr);
  assert.equal(existsSync(join(root, 'eval-long.json')), false);
});
