// The progress display: plain lines (no control characters) for logs, a bar on a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downloadDisplay, formatBytes, formatDuration, progressDisplay, progressLine } from '../../src/cli/progress.ts';
import type { Progress } from '../../src/unlearn/loop.ts';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, chunks, write: (s: string) => (chunks.push(String(s)), true), columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, on: () => undefined, removeListener: () => undefined } as unknown as NodeJS.WritableStream & { isTTY: boolean; chunks: string[] };
}

const event = (step: number, steps: number, extra: Partial<Progress> = {}): Progress => ({
  step, steps, loss: 2.5 - step / 100, lr: 1e-3, gradNorm: 1, tokensPerSecond: 1234.4, etaSeconds: 75, values: { loss: 2.5, forgetLoss: 1.25, retainLoss: 0.5, gradNorm: 1 }, ...extra,
});

test('plain progress prints about twenty lines a run, the last step and every evaluation, with no control characters', () => {
  const out = sink(false);
  const display = progressDisplay('npo', { stream: out });
  for (let s = 1; s <= 100; s++) display.update(event(s, 100, s === 33 ? { eval: { score: 0.1, metrics: { forgetProb: 0.2, retainProb: 0.3 } } } : {}));
  display.stop();
  const lines = out.chunks.join('').split('\n').filter(Boolean);
  assert.equal(lines.length, 21); // steps 5, 10, …, 100 and the evaluation at 33
  assert.ok(lines.some((l) => l.includes('step 33/100') && l.includes('eval forgetProb 0.2000 retainProb 0.3000')));
  assert.match(lines.at(-1)!, /^npo step 100\/100 loss 1\.5000 forgetLoss 1\.2500 retainLoss 0\.5000 lr 1\.00e-3 1234 tok\/s eta 1:15$/);
  const controls = [...out.chunks.join('')].filter((c) => c !== '\n' && (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127));
  assert.deepEqual(controls, []);
});

test('CI set means plain lines even on a terminal; a terminal otherwise gets a redrawn bar', () => {
  const saved = process.env.CI;
  try {
    process.env.CI = 'true';
    const ci = sink(true);
    const d1 = progressDisplay('train', { stream: ci });
    d1.update(event(1, 1));
    d1.stop();
    assert.ok(!ci.chunks.join('').includes('\u001b'));
    delete process.env.CI;
    const tty = sink(true);
    const d2 = progressDisplay('train', { stream: tty });
    d2.update(event(1, 2));
    d2.update(event(2, 2));
    d2.stop();
    assert.match(tty.chunks.join(''), /train .*2\/2 \| loss 2\.4800 \| 1234 tok\/s \| ETA 1:15/);
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
});

test('durations read as m:ss or h:mm:ss', () => {
  assert.equal(formatDuration(75), '1:15');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(NaN), '?');
  assert.match(progressLine('x', event(1, 2)), /^x step 1\/2 /);
});

test('download progress: off a terminal one line per file when it is complete; on a terminal a bar', () => {
  const out = sink(false);
  const onProgress = downloadDisplay('org/model', { stream: out });
  for (const bytes of [1000, 2_000_000, 3_500_000]) onProgress({ file: 'model.safetensors', bytes, total: 3_500_000 });
  onProgress({ file: 'config.json', bytes: 612, total: 612 });
  assert.deepEqual(out.chunks.join('').split('\n'), ['lethe: downloaded org/model model.safetensors (3.5 MB)', 'lethe: downloaded org/model config.json (612 B)', '']);
  const tty = sink(true);
  const bar = downloadDisplay('org/model', { stream: tty, plain: false });
  for (const bytes of [1000, 3_500_000]) bar({ file: 'model.safetensors', bytes, total: 3_500_000 });
  assert.match(tty.chunks.join(''), /downloading org\/model model\.safetensors .*100% of 3\.5 MB/);
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(16_100_000_000), '16.1 GB');
});

test('session creation is announced: a line when ONNX Runtime starts compiling a program, its seconds when it ends', async () => {
  const { onCompile, compile } = await import('../../src/engine/program.ts');
  const { Graph } = await import('../../src/engine/graph.ts');
  const { compileDisplay } = await import('../../src/cli/progress.ts');
  const lines: string[] = [];
  const stream = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
  const events: { label: string; done: boolean }[] = [];
  const display = compileDisplay('lethe unlearn', stream);
  onCompile((e) => {
    events.push({ label: e.label, done: e.done });
    display({ ...e, seconds: e.done ? 12.34 : 0 });
  });
  try {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const program = compile([x], { y: x }, { label: 'the training step' });
    await program.run({ x: { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) } });
    await program.run({ x: { dtype: 'float32', shape: [2], data: Float32Array.of(3, 4) } }); // same bucket: no second compile
    await program.dispose();
  } finally {
    onCompile(null);
  }
  assert.deepEqual(events, [{ label: 'the training step', done: false }, { label: 'the training step', done: true }]);
  assert.deepEqual(lines, ['lethe unlearn: compiling the training step (ONNX Runtime)…\n', 'lethe unlearn: compiled the training step in 12.3 s\n']);
});

test('a program compiled again for another batch shape says so instead of repeating its line', () => {
  const lines: string[] = [];
  const stream = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
  return import('../../src/cli/progress.ts').then(({ compileDisplay }) => {
    const display = compileDisplay('lethe unlearn', stream);
    for (const label of ['the frozen reference', 'the frozen reference', 'the training step']) {
      display({ label, done: false, seconds: 0 });
      display({ label, done: true, seconds: 1 });
    }
    assert.deepEqual(lines, [
      'lethe unlearn: compiling the frozen reference (ONNX Runtime)…\n',
      'lethe unlearn: compiled the frozen reference in 1.0 s\n',
      'lethe unlearn: compiling the frozen reference for another batch shape (ONNX Runtime)…\n',
      'lethe unlearn: compiled the frozen reference for another batch shape in 1.0 s\n',
      'lethe unlearn: compiling the training step (ONNX Runtime)…\n',
      'lethe unlearn: compiled the training step in 1.0 s\n',
    ]);
  });
});
