// Engine benchmark: one train step (forward, backward, AdamW with clipping) of an MLP and of a
// stack of GPT-2-style blocks, built from engine ops, beside the same steps in PyTorch
// (bench/peers/engine.py), plus ONNX Runtime's own 2048² MatMul as the machine's peak.

import { availableParallelism } from 'node:os';
import type { Feeds } from '../src/engine/program.ts';
import { Graph, type Tensor } from '../src/engine/graph.ts';
import * as o from '../src/engine/ops.ts';
import { compile } from '../src/engine/program.ts';
import { TrainStep } from '../src/engine/train-step.ts';
import { Rng } from '../src/engine/random.ts';
import { attention, causalMask, mergeHeads, splitHeads } from '../src/nn/attention.ts';
import { gelu } from '../src/nn/activations.ts';
import { layerNorm } from '../src/nn/norms.ts';
import { linear } from '../src/nn/linear.ts';
import { normal, ones, Params, zeros } from '../src/nn/params.ts';
import { runPeer } from './peer.ts';
import { median, timeIt, type SuiteResult } from './util.ts';

const ADAMW = { kind: 'adamw' as const, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1.0 };
const LR = 1e-4;

interface Case {
  name: string;
  flops: number; // per train step: 3 × forward matmul FLOPs (forward + two backward products)
  step: TrainStep;
  feeds: Feeds;
}

function mseLoss(y: Tensor, target: Tensor): Tensor {
  return o.mean(o.square(o.sub(y, target)));
}

function randomFeed(rng: Rng, shape: number[]) {
  return { dtype: 'float32' as const, shape, data: rng.normalArray(shape.reduce((a, b) => a * b, 1)) };
}

function mlpCase(rng: Rng): Case {
  const [n, d, h] = [1024, 1024, 4096];
  const g = new Graph();
  const p = new Params(g, 1);
  const x = g.input('x', 'float32', [n, d]);
  const target = g.input('target', 'float32', [n, d]);
  const w1 = p.create('w1', [d, h], normal(0.02));
  const b1 = p.create('b1', [h], zeros);
  const w2 = p.create('w2', [h, d], normal(0.02));
  const b2 = p.create('b2', [d], zeros);
  const loss = mseLoss(linear(gelu(linear(x, w1, b1)), w2, b2), target);
  const step = TrainStep.create({ loss, params: p.list, data: [x, target], optimizer: ADAMW }, p.values);
  return { name: 'mlp', flops: 3 * 2 * n * (d * h + h * d), step, feeds: { x: randomFeed(rng, [n, d]), target: randomFeed(rng, [n, d]) } };
}

/** GPT-2 pre-LayerNorm block: h = x + proj(attn(ln1 x)); out = h + fc2(gelu(fc1(ln2 h))). */
function block(p: Params, i: number, x: Tensor, heads: number, mask: Tensor): Tensor {
  const c = x.shape[2] as number;
  const w = (name: string, shape: number[]) => p.create(`h${i}.${name}`, shape, normal(0.02));
  const bias = (name: string, n: number) => p.create(`h${i}.${name}`, [n], zeros);
  const ln1 = layerNorm(x, p.create(`h${i}.ln1.w`, [c], ones), bias('ln1.b', c), 1e-5);
  const [q, k, v] = o.split(linear(ln1, w('qkv.w', [c, 3 * c]), bias('qkv.b', 3 * c)), [c, c, c], 2).map((t) => splitHeads(t, heads));
  const h = o.add(x, linear(mergeHeads(attention(q, k, v, mask)), w('proj.w', [c, c]), bias('proj.b', c)));
  const ln2 = layerNorm(h, p.create(`h${i}.ln2.w`, [c], ones), bias('ln2.b', c), 1e-5);
  return o.add(h, linear(gelu(linear(ln2, w('fc1.w', [c, 4 * c]), bias('fc1.b', 4 * c))), w('fc2.w', [4 * c, c]), bias('fc2.b', c)));
}

function blocksCase(rng: Rng): Case {
  const [b, t, c, heads, layers] = [8, 128, 768, 12, 4];
  const g = new Graph();
  const p = new Params(g, 2);
  const x = g.input('x', 'float32', [b, t, c]);
  const target = g.input('target', 'float32', [b, t, c]);
  const mask = causalMask(x, t);
  let h = x;
  for (let i = 0; i < layers; i++) h = block(p, i, h, heads, mask);
  const step = TrainStep.create({ loss: mseLoss(h, target), params: p.list, data: [x, target], optimizer: ADAMW }, p.values);
  const perToken = 2 * 12 * c * c + 2 * 2 * t * c; // weights + attention (q·kᵀ and ·v)
  return { name: 'blocks', flops: 3 * b * t * layers * perToken, step, feeds: { x: randomFeed(rng, [b, t, c]), target: randomFeed(rng, [b, t, c]) } };
}

async function matmulPeak(runs: number): Promise<number> {
  const n = 2048;
  const g = new Graph();
  const a = g.input('a', 'float32', [n, n]);
  const b = g.input('b', 'float32', [n, n]);
  const prog = compile([a, b], { c: o.matmul(a, b) });
  const rng = new Rng(3);
  const feeds = { a: randomFeed(rng, [n, n]), b: randomFeed(rng, [n, n]) };
  await prog.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timeIt(() => prog.run(feeds)));
  await prog.dispose();
  return (2 * n ** 3) / median(times) / 1e9;
}

export async function benchEngine(opts: { steps: number; warmup: number; log: (s: string) => void }): Promise<SuiteResult> {
  const rng = new Rng(42);
  const threads = availableParallelism();
  const lethe: Record<string, number> = {};
  const flops: Record<string, number> = {};
  for (const make of [mlpCase, blocksCase]) {
    const c = make(rng);
    flops[c.name] = c.flops;
    for (let i = 0; i < opts.warmup; i++) await c.step.run(c.feeds, LR);
    const times: number[] = [];
    for (let i = 0; i < opts.steps; i++) times.push(await timeIt(() => c.step.run(c.feeds, LR)));
    lethe[c.name] = median(times);
    opts.log(`lethe ${c.name}: ${lethe[c.name].toFixed(3)} s/step (median of ${opts.steps})`);
    await c.step.dispose();
  }
  const peak = await matmulPeak(opts.steps);
  opts.log(`ONNX Runtime MatMul 2048²: ${peak.toFixed(1)} GFLOP/s`);
  const peer = runPeer('engine.py', ['--threads', String(threads), '--steps', String(opts.steps), '--warmup', String(opts.warmup)]) as {
    torch: string;
    cases: Record<string, { seconds_per_step: number }>;
  };
  const cases = Object.keys(lethe).map((name) => {
    const letheGflops = flops[name] / lethe[name] / 1e9;
    const peerGflops = flops[name] / peer.cases[name].seconds_per_step / 1e9;
    return { name, lethe_gflops: round(letheGflops), peer_gflops: round(peerGflops), ratio: round(letheGflops / peerGflops, 3) };
  });
  const blocks = cases.find((c) => c.name === 'blocks')!;
  return {
    suite: 'engine',
    table: {
      head: ['case', 'lethe GFLOP/s', `PyTorch ${peer.torch} GFLOP/s`, 'ratio'],
      rows: cases.map((c) => [c.name, c.lethe_gflops.toFixed(1), c.peer_gflops.toFixed(1), c.ratio.toFixed(2)]),
      notes: [`threads ${threads}; ONNX Runtime MatMul 2048² peak ${peak.toFixed(1)} GFLOP/s; blocks reach ${((blocks.lethe_gflops / peak) * 100).toFixed(0)}% of it`],
    },
    json: {
      suite: 'engine',
      cases,
      min_ratio: Math.min(...cases.map((c) => c.ratio)),
      matmul_peak_gflops: round(peak),
      peak_fraction: round(blocks.lethe_gflops / peak, 3),
    },
  };
}

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));
