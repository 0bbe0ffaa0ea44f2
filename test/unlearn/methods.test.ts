// Every unlearning method's loss on fixed inputs against an independent plain-JS computation of
// its REFERENCE.md formula, and its gradient: by finite differences where the loss is smooth
// in all inputs, and against the closed form where the method stops gradients through a weight
// or a target distribution (WGA, SatImp, UNDIAL, CE-U).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grad } from '../../src/engine/autodiff.ts';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { Graph, type Tensor } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { Rng } from '../../src/engine/random.ts';
import { objective, type MethodInputs, type UnlearnMethod } from '../../src/unlearn/method.ts';
import { METHODS } from '../../src/unlearn/methods/index.ts';
import type { Scored } from '../../src/unlearn/objective.ts';
import { gradCheck } from '../engine/gradcheck.ts';

const [B, T, V, C] = [2, 3, 5, 4];
const rng = new Rng(99);
const rand = (n: number, scale = 2) => Array.from({ length: n }, () => scale * (2 * rng.next() - 1));
const data = {
  forgetLogits: rand(B * T * V),
  forgetLabels: [1, 4, 0, 2, 2, 3],
  forgetMask: [0, 1, 1, 1, 1, 0],
  idkLogits: rand(B * T * V),
  idkLabels: [3, 0, 1, 4, 4, 2],
  idkMask: [1, 1, 0, 0, 1, 1],
  retainLogits: rand(B * T * V),
  retainLabels: [0, 1, 2, 3, 4, 0],
  retainMask: [1, 1, 1, 0, 1, 1],
  refForgetSeqLogp: [-3.1, -2.2],
  refIdkSeqLogp: [-4.0, -1.5],
  refForgetLogits: rand(B * T * V),
  refRetainLogits: rand(B * T * V),
  forgetHidden: rand(B * T * C),
  retainHidden: rand(B * T * C),
  refRetainHidden: rand(B * T * C),
  direction: [0.1, 0.7, 0.2, 0.4],
};

// ── plain-JS reference math ───────────────────────────────────────────────────
const logSoftmaxRow = (z: number[]) => {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
};
const row = (logits: number[], i: number) => logits.slice(i * V, (i + 1) * V);
const tokenLogp = (logits: number[], labels: number[]) => labels.map((y, i) => logSoftmaxRow(row(logits, i))[y]);
const seqLogp = (logits: number[], labels: number[], mask: number[]) =>
  [0, 1].map((b) => [0, 1, 2].reduce((a, t) => a + mask[b * T + t] * tokenLogp(logits, labels)[b * T + t], 0));
const lengths = (mask: number[]) => [0, 1].map((b) => Math.max(1, mask.slice(b * T, (b + 1) * T).reduce((a, v) => a + v, 0)));
const batchCe = (logits: number[], labels: number[], mask: number[]) => {
  const lp = tokenLogp(logits, labels);
  return -lp.reduce((a, v, i) => a + v * mask[i], 0) / mask.reduce((a, v) => a + v, 0);
};
const logSigmoid = (x: number) => -Math.log1p(Math.exp(-x));
const dpo = (margins: number[], beta: number) => (-2 / beta) * (margins.reduce((a, m) => a + logSigmoid(beta * m), 0) / margins.length);
const softmaxRow = (z: number[]) => logSoftmaxRow(z).map(Math.exp);
const targetMean = (perPos: number[], mask: number[]) => perPos.reduce((a, v, i) => a + v * mask[i], 0) / mask.reduce((a, v) => a + v, 0);
const softCe = (logits: number[], targets: number[][], mask: number[]) =>
  targetMean(targets.map((q, i) => -q.reduce((a, qv, v) => a + qv * logSoftmaxRow(row(logits, i))[v], 0)), mask);
const mse = (h: number[], target: (i: number, c: number) => number, mask: number[]) =>
  targetMean([...Array(B * T).keys()].map((i) => [...Array(C).keys()].reduce((a, c) => a + (h[i * C + c] - target(i, c)) ** 2, 0) / C), mask);
const { forgetLogits: zf, forgetLabels: yf, forgetMask: mf } = data;
const retainNll = batchCe(data.retainLogits, data.retainLabels, data.retainMask);
const undialTarget = (beta: number) => yf.map((y, i) => softmaxRow(row(data.refForgetLogits, i).map((v, k) => v - (k === y ? beta : 0))));
const ceuTarget = () => yf.map((y, i) => {
  const p = softmaxRow(row(zf, i).map((v, k) => (k === y ? -Infinity : v)));
  return p.map((v) => (Number.isNaN(v) ? 0 : v));
});
const weighted = (w: (p: number) => number) => {
  const lp = tokenLogp(zf, yf);
  return -targetMean(lp.map((l) => w(Math.exp(l)) * -l), mf);
};

/** The expected total loss L = γ·L_f + α·L_r of each method at its defaults, by hand. */
const expected: Record<string, () => number> = {
  ga: () => -batchCe(zf, yf, mf),
  graddiff: () => -batchCe(zf, yf, mf) + retainNll,
  npo: () => dpo(seqLogp(zf, yf, mf).map((l, b) => -(l - data.refForgetSeqLogp[b])), 0.1) + retainNll,
  simnpo: () => 0.125 * dpo(seqLogp(zf, yf, mf).map((l, b) => -l / lengths(mf)[b] - 0), 4.5) + retainNll,
  idkdpo: () => {
    const win = seqLogp(data.idkLogits, data.idkLabels, data.idkMask).map((l, b) => l - data.refIdkSeqLogp[b]);
    const lose = seqLogp(zf, yf, mf).map((l, b) => l - data.refForgetSeqLogp[b]);
    return dpo(win.map((w, b) => w - lose[b]), 0.1) + retainNll;
  },
  rmu: () =>
    mse(data.forgetHidden, (_i, c) => 6.5 * data.direction[c], mf) +
    100 * mse(data.retainHidden, (i, c) => data.refRetainHidden[i * C + c], data.retainMask),
  wga: () => weighted((p) => p) + retainNll,
  satimp: () => weighted((p) => p ** 5 * (1 - p)) + retainNll,
  undial: () => softCe(zf, undialTarget(10), mf),
  'ce-u': () => softCe(zf, ceuTarget(), mf) + retainNll,
};

// ── the graph side ────────────────────────────────────────────────────────────
function build(g: Graph, xs: Record<string, Tensor>): MethodInputs {
  const scored = (k: 'forget' | 'idk' | 'retain', hidden?: Tensor): Scored => ({ logits: xs[`${k}Logits`], labels: xs[`${k}Labels`], mask: xs[`${k}Mask`], hidden });
  return {
    forget: scored('forget', xs.forgetHidden),
    idk: scored('idk'),
    retain: scored('retain', xs.retainHidden),
    refForgetSeqLogp: xs.refForgetSeqLogp,
    refIdkSeqLogp: xs.refIdkSeqLogp,
    refForgetTokenLogprobs: xs.refForgetTokenLogprobs,
    refRetainHidden: xs.refRetainHidden,
    direction: xs.direction,
  };
}

const shapes: Record<string, number[]> = {
  forgetLogits: [B, T, V], idkLogits: [B, T, V], retainLogits: [B, T, V], refForgetLogits: [B, T, V], refRetainLogits: [B, T, V],
  forgetLabels: [B, T], idkLabels: [B, T], retainLabels: [B, T], forgetMask: [B, T], idkMask: [B, T], retainMask: [B, T],
  refForgetSeqLogp: [B], refIdkSeqLogp: [B], forgetHidden: [B, T, C], retainHidden: [B, T, C], refRetainHidden: [B, T, C], direction: [C],
};

function feedsAndInputs(g: Graph): { xs: Record<string, Tensor>; feeds: Record<string, HostTensor> } {
  const xs: Record<string, Tensor> = {};
  const feeds: Record<string, HostTensor> = {};
  for (const [k, shape] of Object.entries(shapes)) {
    const values = (data as Record<string, number[]>)[k];
    const isLabel = k.endsWith('Labels');
    xs[k] = g.input(k, isLabel ? 'int64' : 'float64', shape);
    feeds[k] = isLabel
      ? { dtype: 'int64', shape, data: BigInt64Array.from(values, (v) => BigInt(v)) }
      : { dtype: 'float64', shape, data: Float64Array.from(values) };
  }
  // UNDIAL takes reference log-probs: derive them from the reference logits inside the graph.
  return { xs, feeds };
}

async function lossOf(method: UnlearnMethod<never>): Promise<{ loss: number; gradLogits: Float64Array }> {
  const g = new Graph();
  const { xs, feeds } = feedsAndInputs(g);
  const inputs = build(g, xs);
  const { logSoftmax } = await import('../../src/engine/ops.ts');
  inputs.refForgetTokenLogprobs = logSoftmax(xs.refForgetLogits, -1);
  const { loss } = objective(method, inputs, method.defaults as never);
  const [gz] = grad(loss, [xs.forgetLogits]);
  const r = await compile(Object.values(xs), { loss, gz }).run(feeds);
  return { loss: Number(r.loss.data[0]), gradLogits: r.gz.data as Float64Array };
}

for (const name of Object.keys(METHODS)) {
  test(`${name}: loss at its defaults equals the formula computed by hand`, async () => {
    const want = expected[name]();
    const { loss } = await lossOf(METHODS[name] as never);
    assert.ok(Number.isFinite(want));
    assert.ok(Math.abs(loss - want) <= 1e-9 * (1 + Math.abs(want)), `${name}: graph ${loss} vs hand ${want}`);
  });
}

test('every registered method has a hand-computed expectation (none untested)', () => {
  assert.deepEqual(Object.keys(METHODS).sort(), Object.keys(expected).sort());
});

// Smooth methods: finite differences over the model outputs they read.
for (const name of ['ga', 'graddiff', 'npo', 'simnpo', 'idkdpo', 'rmu']) {
  test(`${name}: gradient matches finite differences`, async () => {
    const method = METHODS[name];
    const keys = ['forgetLogits', 'idkLogits', 'retainLogits', 'forgetHidden', 'retainHidden'];
    const fixed = Object.keys(shapes).filter((k) => !keys.includes(k));
    await gradCheck({
      inputs: keys.map((k) => ({ shape: shapes[k], values: (data as Record<string, number[]>)[k] })),
      build: (ts) => {
        const g = ts[0].graph;
        const xs: Record<string, Tensor> = {};
        keys.forEach((k, i) => (xs[k] = ts[i]));
        for (const k of fixed) {
          const values = (data as Record<string, number[]>)[k];
          xs[k] = k.endsWith('Labels')
            ? g.constant({ dtype: 'int64', shape: shapes[k], data: BigInt64Array.from(values, (v) => BigInt(v)) })
            : g.constant({ dtype: 'float64', shape: shapes[k], data: Float64Array.from(values) });
        }
        return objective(method, build(g, xs), method.defaults as never).loss;
      },
    });
  });
}

// Methods with a stopped weight or target: dL/dz_t = (m_t/N) · (softmax(z_t) − q_t) for soft-target
// CE, and −(m_t/N) · w_t · (softmax(z_t) − onehot(y_t)) for weighted ascent.
const N = mf.reduce((a, v) => a + v, 0);
const closedForm: Record<string, (i: number) => number[]> = {
  undial: (i) => softmaxRow(row(zf, i)).map((p, k) => (mf[i] / N) * (p - undialTarget(10)[i][k])),
  'ce-u': (i) => softmaxRow(row(zf, i)).map((p, k) => (mf[i] / N) * (p - ceuTarget()[i][k])),
  wga: (i) => {
    const p = softmaxRow(row(zf, i));
    return p.map((pk, k) => -(mf[i] / N) * p[yf[i]] * (pk - (k === yf[i] ? 1 : 0)));
  },
  satimp: (i) => {
    const p = softmaxRow(row(zf, i));
    const w = p[yf[i]] ** 5 * (1 - p[yf[i]]);
    return p.map((pk, k) => -(mf[i] / N) * w * (pk - (k === yf[i] ? 1 : 0)));
  },
};
for (const [name, expectedRow] of Object.entries(closedForm)) {
  test(`${name}: gradient through the stopped weights/targets matches the closed form`, async () => {
    const { gradLogits } = await lossOf(METHODS[name] as never);
    for (let i = 0; i < B * T; i++) {
      expectedRow(i).forEach((want, k) => {
        const got = gradLogits[i * V + k];
        assert.ok(Math.abs(got - want) <= 1e-9, `${name} d/dz[${i},${k}]: ${got} vs ${want}`);
      });
    }
  });
}
