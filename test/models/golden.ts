// Shared by the model tests: the PyTorch golden fixtures (test/fixtures/models, see its README)
// and a program that computes logits, the next-token loss and every parameter's gradient.

import { fileURLToPath } from 'node:url';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { grad } from '../../src/engine/autodiff.ts';
import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { readSafetensors } from '../../src/models/formats/safetensors.ts';
import { isHfLinearWeight, transpose2d } from '../../src/models/hf-layout.ts';
import type { Model } from '../../src/models/model.ts';
import { nextTokenLoss } from '../../src/nn/loss.ts';

export const fixtureDir = (name: string): string => fileURLToPath(new URL(`../fixtures/models/${name}`, import.meta.url));

export async function golden(name: string): Promise<Map<string, HostTensor>> {
  return (await readSafetensors(`${fixtureDir(name)}/golden.safetensors`)) as Map<string, HostTensor>;
}

export interface Evaluated {
  logits: HostTensor;
  loss: number;
  /** d loss / d parameter, by parameter name, in the engine's layout. */
  grads: Map<string, HostTensor>;
}

/** Logits for `inputIds` [B, T]; with `withGrads`, also the next-token loss and all gradients. */
export async function evaluate(model: Model, inputIds: HostTensor, withGrads = false): Promise<Evaluated> {
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['B', 'T']);
  const out = model.forward(g, ids);
  const names = [...out.params.keys()];
  const outputs: Record<string, ReturnType<typeof nextTokenLoss>> = { logits: out.logits };
  if (withGrads) {
    const loss = nextTokenLoss(out.logits, ids);
    outputs.loss = loss;
    grad(loss, names.map((n) => out.params.get(n)!)).forEach((gr, i) => (outputs[`grad.${names[i]}`] = gr));
  }
  const program = compile([ids, ...out.params.values()], outputs);
  const r = await program.run({ input_ids: inputIds, ...model.feeds() });
  await program.dispose();
  const grads = new Map(names.filter(() => withGrads).map((n) => [n, r[`grad.${n}`]]));
  return { logits: r.logits, loss: withGrads ? Number(r.loss.data[0]) : NaN, grads };
}

export function maxAbsDiff(a: HostTensor, b: HostTensor): number {
  if (a.data.length !== b.data.length) throw new Error(`sizes differ: [${a.shape}] vs [${b.shape}]`);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return m;
}

export function maxAbs(a: HostTensor): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(Number(a.data[i])));
  return m;
}

/** A gradient in HF's layout (linear weights back to [out, in]) to compare with `grad.<hf name>`. */
export function toHfLayout(model: Model, name: string, t: HostTensor): HostTensor {
  return isHfLinearWeight(model.config, name) ? transpose2d(t) : t;
}

/**
 * Every gradient against the golden `grad.<name>`, relative to the size of the golden tensor:
 * max |Δ| ≤ 1e-3 · max |golden| + 1e-6. Returns the worst ratio max|Δ| / max|golden| and the count.
 */
export function compareGrads(model: Model, grads: Map<string, HostTensor>, gold: Map<string, HostTensor>): { worst: number; checked: number; failures: string[] } {
  let worst = 0;
  const failures: string[] = [];
  const goldNames = [...gold.keys()].filter((k) => k.startsWith('grad.')).map((k) => k.slice(5));
  for (const name of goldNames) {
    const ours = grads.get(name);
    if (!ours) {
      failures.push(`${name}: no gradient computed`);
      continue;
    }
    const want = gold.get(`grad.${name}`)!;
    const diff = maxAbsDiff(toHfLayout(model, name, ours), want);
    const scale = maxAbs(want);
    worst = Math.max(worst, diff / (scale || 1));
    if (diff > 1e-3 * scale + 1e-6) failures.push(`${name}: max |Δ| ${diff.toExponential(2)} vs max |golden| ${scale.toExponential(2)}`);
  }
  for (const name of grads.keys()) if (!gold.has(`grad.${name}`)) failures.push(`${name}: gradient has no golden`);
  return { worst, checked: goldNames.length, failures };
}
