// The in-graph optimisers against a direct transcription of PyTorch's update rules
// (torch.optim.AdamW, torch.optim.SGD, torch.nn.utils.clip_grad_norm_) on a quadratic whose
// gradient is known in closed form, SGD also against torch's own trajectories, and masks.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LetheError } from '../../src/engine/errors.ts';
import { Graph } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { checkOptimizer, optimizerDefaults, TrainStep, type OptimizerOptions } from '../../src/engine/train-step.ts';

// loss = Σ c ⊙ (w − target)²  ⇒  ∇ = 2c ⊙ (w − target)
const target = [1, -2, 0.5, 3];
const c = [1, 0.5, 2, 0.1];
const w0 = [0.3, 0.2, -0.4, 1];

function build(opt: OptimizerOptions): TrainStep {
  const g = new Graph();
  const w = g.input('w', 'float32', [4]);
  const t = g.input('target', 'float32', [4]);
  const k = g.constant({ dtype: 'float32', shape: [4], data: Float32Array.from(c) });
  const loss = o.sum(o.mul(k, o.square(o.sub(w, t))));
  return TrainStep.create({ loss, params: [w], data: [t], optimizer: opt }, new Map([['w', { dtype: 'float32', shape: [4], data: Float32Array.from(w0) }]]));
}

const feeds = { target: { dtype: 'float32' as const, shape: [4], data: Float32Array.from(target) } };
const gradient = (w: number[]) => w.map((v, i) => 2 * c[i] * (v - target[i]));

function clipScale(g: number[], maxNorm: number | null): [number, number] {
  const norm = Math.sqrt(g.reduce((a, v) => a + v * v, 0));
  return [norm, maxNorm === null ? 1 : Math.min(1, maxNorm / (norm + 1e-6))];
}

function assertClose(actual: Float32Array, expected: number[], tol: number, what: string): void {
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= tol * (1 + Math.abs(e)), `${what}[${i}]: ${actual[i]} vs ${e}`));
}

test('AdamW matches torch.optim.AdamW with clipping, 5 steps', async () => {
  const [b1, b2, eps, wd, lr, maxNorm] = [0.9, 0.999, 1e-8, 0.01, 0.05, 1.0];
  const ts = build({ kind: 'adamw', betas: [b1, b2], eps, weightDecay: wd, maxGradNorm: maxNorm });
  let w = [...w0];
  let m = [0, 0, 0, 0];
  let v = [0, 0, 0, 0];
  for (let t = 1; t <= 5; t++) {
    const g0 = gradient(w);
    const [norm, s] = clipScale(g0, maxNorm);
    const g = g0.map((x) => x * s);
    const r = await ts.run(feeds, lr);
    assert.ok(Math.abs(r.gradNorm - norm) < 1e-4 * norm, `step ${t} grad norm ${r.gradNorm} vs ${norm}`);
    w = w.map((x) => x * (1 - lr * wd));
    m = m.map((x, i) => b1 * x + (1 - b1) * g[i]);
    v = v.map((x, i) => b2 * x + (1 - b2) * g[i] * g[i]);
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    w = w.map((x, i) => x - (lr / bc1) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps)));
    assertClose(ts.get('w').data as Float32Array, w, 1e-5, `w after step ${t}`);
    assertClose(ts.get('w.adam_m').data as Float32Array, m, 1e-5, `m after step ${t}`);
    assertClose(ts.get('w.adam_v').data as Float32Array, v, 1e-5, `v after step ${t}`);
  }
  assert.equal(ts.step, 5);
  await ts.dispose();
});

test('SGD with momentum and weight decay matches torch.optim.SGD, 4 steps', async () => {
  const [lr, mu, wd] = [0.1, 0.9, 0.05];
  const ts = build({ kind: 'sgd', momentum: mu, weightDecay: wd });
  let w = [...w0];
  let buf: number[] | null = null;
  for (let t = 1; t <= 4; t++) {
    const d = gradient(w).map((x, i) => x + wd * w[i]);
    buf = buf === null ? d : buf.map((b, i) => mu * b + d[i]);
    w = w.map((x, i) => x - lr * buf![i]);
    await ts.run(feeds, lr);
    assertClose(ts.get('w').data as Float32Array, w, 1e-5, `w after step ${t}`);
  }
  await ts.dispose();
});

test('plain SGD lowers the loss and leaves the caller\'s initial array untouched', async () => {
  const init = Float32Array.from(w0);
  const g = new Graph();
  const w = g.input('w', 'float32', [4]);
  const t = g.input('target', 'float32', [4]);
  const loss = o.sum(o.square(o.sub(w, t)));
  const ts = TrainStep.create({ loss, params: [w], data: [t], optimizer: { kind: 'sgd' } }, new Map([['w', { dtype: 'float32', shape: [4], data: init }]]));
  const first = (await ts.run(feeds, 0.1)).loss;
  let last = first;
  for (let i = 0; i < 10; i++) last = (await ts.run(feeds, 0.1)).loss;
  // Each step scales (w − target) by 1 − 2·lr = 0.8, so the loss by 0.64.
  assert.ok(Math.abs(last / first - 0.64 ** 10) < 1e-4, `loss ${first} → ${last}`);
  assert.deepEqual([...init], w0.map(Math.fround));
  await ts.dispose();
});

test('Sophia matches its update rule (SOUL): sign(m)·min(|m|/(ρ·bs·h + 1e-15), 1)', async () => {
  const [b1, b2, rho, bs, lr, wd] = [0.9, 0.95, 0.04, 4, 0.01, 0.1];
  const ts = build({ kind: 'sophia', betas: [b1, b2], rho, batchSize: bs, weightDecay: wd });
  let w = [...w0];
  let m = [0, 0, 0, 0];
  let h = [0, 0, 0, 0];
  for (let t = 1; t <= 4; t++) {
    const g = gradient(w);
    m = m.map((x, i) => b1 * x + (1 - b1) * g[i]);
    h = h.map((x, i) => b2 * x + (1 - b2) * g[i] * g[i]);
    w = w.map((x, i) => x * (1 - lr * wd) - lr * Math.sign(m[i]) * Math.min(Math.abs(m[i]) / (rho * bs * h[i] + 1e-15), 1));
    await ts.run(feeds, lr);
    assertClose(ts.get('w').data as Float32Array, w, 1e-5, `w after step ${t}`);
  }
  await ts.dispose();
});

test('gradient accumulation over micro-batches equals one step on their mean', async () => {
  // loss = mean over the batch rows of Σ (w − x_row)²: two micro-batches of 2 rows vs one of 4.
  const make = () => {
    const g = new Graph();
    const w = g.input('w', 'float32', [4]);
    const x = g.input('x', 'float32', ['N', 4]);
    const loss = o.mean(o.sum(o.square(o.sub(w, x)), 1));
    return TrainStep.create({ loss, params: [w], data: [x], optimizer: { kind: 'adamw', maxGradNorm: 0.5 } }, new Map([['w', { dtype: 'float32', shape: [4], data: Float32Array.from(w0) }]]));
  };
  const rows = [1, 2, 3, 4, -1, 0, 2, 1, 0.5, 0.5, -2, 3, 1, 1, 1, 1];
  const x = (from: number, n: number) => ({ x: { dtype: 'float32' as const, shape: [n, 4], data: Float32Array.from(rows.slice(from * 4, (from + n) * 4)) } });
  const whole = make();
  const split = make();
  for (let i = 0; i < 3; i++) {
    const a = await whole.run(x(0, 4), 0.1);
    const b = await split.run([x(0, 2), x(2, 2)], 0.1);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-5 && Math.abs(a.gradNorm - b.gradNorm) < 1e-5, `step ${i}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    assertClose(split.get('w').data as Float32Array, [...(whole.get('w').data as Float32Array)], 1e-6, `w after step ${i}`);
    assertClose(split.get('w.adam_v').data as Float32Array, [...(whole.get('w.adam_v').data as Float32Array)], 1e-6, `v after step ${i}`);
  }
  await whole.dispose();
  await split.dispose();
});

test('one train step mixes accumulated and lone micro-batches in either order, equal to plain steps', async () => {
  const make = () => {
    const g = new Graph();
    const w = g.input('w', 'float32', [4]);
    const x = g.input('x', 'float32', ['N', 4]);
    const loss = o.mean(o.sum(o.square(o.sub(w, x)), 1));
    return TrainStep.create({ loss, params: [w], data: [x], optimizer: { kind: 'adamw' } }, new Map([['w', { dtype: 'float32', shape: [4], data: Float32Array.from(w0) }]]));
  };
  const rows = [1, 2, 3, 4, -1, 0, 2, 1, 0.5, 0.5, -2, 3];
  const x = (from: number, n: number) => ({ x: { dtype: 'float32' as const, shape: [n, 4], data: Float32Array.from(rows.slice(from * 4, (from + n) * 4)) } });
  const accumulating = make();
  const plain = make();
  await accumulating.run([x(0, 1), x(1, 1)], 0.1);
  await plain.run(x(0, 2), 0.1);
  const a = await accumulating.run([x(2, 1)], 0.1);
  const b = await plain.run(x(2, 1), 0.1);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-6, `${a.loss} vs ${b.loss}`);
  assertClose(accumulating.get('w').data as Float32Array, [...(plain.get('w').data as Float32Array)], 1e-6, 'w after the short step');
  // And back to accumulating after a lone micro-batch.
  await accumulating.run([x(1, 1), x(2, 1)], 0.1);
  await plain.run(x(1, 2), 0.1);
  assertClose(accumulating.get('w').data as Float32Array, [...(plain.get('w').data as Float32Array)], 1e-6, 'w after accumulating again');
  await accumulating.dispose();
  await plain.dispose();
});

test('a mask keeps the masked-out weights exactly where they were (decay included)', async () => {
  const g = new Graph();
  const w = g.input('w', 'float32', [4]);
  const t = g.input('target', 'float32', [4]);
  const loss = o.sum(o.square(o.sub(w, t)));
  const mask = Float32Array.from([1, 0, 1, 0]);
  const init = new Map([
    ['w', { dtype: 'float32' as const, shape: [4], data: Float32Array.from(w0) }],
    ['w.mask', { dtype: 'float32' as const, shape: [4], data: mask }],
  ]);
  const ts = TrainStep.create({ loss, params: [w], data: [t], optimizer: { kind: 'adamw', weightDecay: 0.1 }, masks: new Set(['w']) }, init);
  for (let i = 0; i < 3; i++) await ts.run(feeds, 0.1);
  const now = ts.get('w').data as Float32Array;
  assert.equal(now[1], Math.fround(w0[1]));
  assert.equal(now[3], Math.fround(w0[3]));
  assert.notEqual(now[0], Math.fround(w0[0]));
  assert.notEqual(now[2], Math.fround(w0[2]));
  await ts.dispose();
});

// Trajectories of torch.optim.SGD itself (scripts/make-optimizer-fixtures.py) on the same quadratic.
const sgdFixture = JSON.parse(readFileSync(new URL('../fixtures/optimizers/sgd.json', import.meta.url), 'utf8')) as {
  target: number[];
  c: number[];
  w0: number[];
  cases: { name: string; lr: number; momentum: number; nesterov: boolean; weight_decay: number; max_grad_norm: number | null; trajectory: number[][] }[];
};

test('SGD (plain, decay, momentum, Nesterov, clipping) matches torch.optim.SGD step by step', async () => {
  assert.deepEqual([sgdFixture.target, sgdFixture.c, sgdFixture.w0], [target, c, w0]);
  assert.ok(sgdFixture.cases.some((k) => k.nesterov) && sgdFixture.cases.some((k) => k.max_grad_norm !== null));
  for (const k of sgdFixture.cases) {
    const ts = build({ kind: 'sgd', momentum: k.momentum, nesterov: k.nesterov, weightDecay: k.weight_decay, maxGradNorm: k.max_grad_norm });
    for (const [t, expected] of k.trajectory.entries()) {
      await ts.run(feeds, k.lr);
      assertClose(ts.get('w').data as Float32Array, expected, 2e-6, `${k.name}: w after step ${t + 1}`);
    }
    await ts.dispose();
  }
});

test('Nesterov differs from heavy-ball momentum, and needs a momentum', async () => {
  const heavy = build({ kind: 'sgd', momentum: 0.9 });
  const nesterov = build({ kind: 'sgd', momentum: 0.9, nesterov: true });
  await heavy.run(feeds, 0.1);
  await nesterov.run(feeds, 0.1);
  assert.notDeepEqual([...(heavy.get('w').data as Float32Array)], [...(nesterov.get('w').data as Float32Array)]);
  await heavy.dispose();
  await nesterov.dispose();
  assert.throws(() => build({ kind: 'sgd', nesterov: true }), /Nesterov momentum needs a momentum > 0/);
  assert.throws(() => checkOptimizer({ kind: 'sgd', momentum: 0, nesterov: true }), LetheError);
  assert.throws(() => checkOptimizer({ kind: 'adamw', weightDecay: -1 }), /weight decay must be a finite number ≥ 0/);
  assert.equal(optimizerDefaults('sgd').weightDecay, 0); // torch.optim.SGD's default
  assert.equal(optimizerDefaults('adamw').weightDecay, 0.01); // torch.optim.AdamW's default
});

/** The float32 bit patterns (so −0 and +0, or two NaNs, are told apart). */
const bits = (a: Float32Array) => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];

test('every optimiser leaves masked-out weights and their state bit-identical (decay, momentum, Nesterov, clipping)', async () => {
  const mask = Float32Array.from([1, 0, 1, 0]);
  // −0 among the frozen weights: θ − (−0) would turn it into +0.
  const start = Float32Array.from([0.3, -0, -0.4, 1]);
  const options: OptimizerOptions[] = [
    { kind: 'adamw', weightDecay: 0.1 },
    { kind: 'sophia', batchSize: 2, weightDecay: 0.1, maxGradNorm: 0.5 },
    { kind: 'sgd', weightDecay: 0.1 },
    { kind: 'sgd', momentum: 0.9, weightDecay: 0.1, maxGradNorm: 0.5 },
    { kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0.1 },
    // State kept in bfloat16: its +0 must stay +0 through the stochastic rounding.
    { kind: 'adamw', weightDecay: 0.1, stateDtype: 'bfloat16' },
    { kind: 'sophia', batchSize: 2, weightDecay: 0.1, maxGradNorm: 0.5, stateDtype: 'bfloat16' },
    { kind: 'sgd', momentum: 0.9, weightDecay: 0.1, stateDtype: 'bfloat16' },
  ];
  for (const opt of options) {
    const g = new Graph();
    const w = g.input('w', 'float32', [4]);
    const t = g.input('target', 'float32', [4]);
    const loss = o.sum(o.square(o.sub(w, t)));
    const init = new Map([
      ['w', { dtype: 'float32' as const, shape: [4], data: Float32Array.from(start) }],
      ['w.mask', { dtype: 'float32' as const, shape: [4], data: mask }],
    ]);
    const ts = TrainStep.create({ loss, params: [w], data: [t], optimizer: opt, masks: new Set(['w']) }, init);
    for (let i = 0; i < 3; i++) await ts.run(feeds, 0.1);
    const now = ts.get('w').data as Float32Array;
    const what = JSON.stringify(opt);
    assert.deepEqual([1, 3].map((i) => bits(now)[i]), [1, 3].map((i) => bits(start)[i]), `${what}: frozen weights`);
    assert.ok(now[0] !== start[0] && now[2] !== start[2], `${what}: trainable weights move`);
    for (const name of ts.stateNames) {
      const s = ts.get(name).data as Float32Array;
      assert.deepEqual([s[1], s[3]].map((x) => Object.is(x, 0)), [true, true], `${what}: ${name} stays +0 where frozen`);
    }
    await ts.dispose();
  }
});
