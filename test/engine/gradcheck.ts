// Finite-difference gradient checking for engine graphs: the analytic gradients from `grad`
// against central differences of the same program's loss, element by element.

import assert from 'node:assert/strict';
import { grad } from '../../src/engine/autodiff.ts';
import type { DType, HostTensor } from '../../src/engine/dtype.ts';
import { Graph, type Tensor } from '../../src/engine/graph.ts';
import * as o from '../../src/engine/ops.ts';
import { compile } from '../../src/engine/program.ts';
import { Rng } from '../../src/engine/random.ts';

export type Domain = 'any' | 'positive' | 'nonzero' | 'unit';

export interface InputSpec {
  shape: number[];
  domain?: Domain;
  /** Integer input (indices): values in [0, max); no gradient is checked. */
  int64Max?: number;
  /** Use these exact values. */
  values?: number[];
}

export interface GradCheckCase {
  inputs: InputSpec[];
  build: (xs: Tensor[]) => Tensor;
  dtype?: DType; // float64 unless the op needs float32 in ONNX Runtime
  seed?: number;
}

function sample(rng: Rng, domain: Domain): number {
  switch (domain) {
    case 'positive':
      return 0.2 + 1.8 * rng.next();
    case 'nonzero': {
      const v = 0.2 + 1.8 * rng.next();
      return rng.next() < 0.5 ? -v : v;
    }
    case 'unit':
      return 2 * rng.next() - 1;
    default:
      return 4 * rng.next() - 2;
  }
}

/** Run the check; returns the worst relative error seen (asserts inside). */
export async function gradCheck(c: GradCheckCase): Promise<number> {
  const dtype = c.dtype ?? 'float64';
  const F = dtype === 'float64' ? Float64Array : Float32Array;
  const rng = new Rng(c.seed ?? 1234);
  const g = new Graph();
  const feeds: Record<string, HostTensor> = {};
  const xs = c.inputs.map((spec, i) => {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.int64Max !== undefined) {
      const data = BigInt64Array.from(spec.values ?? Array.from({ length: n }, () => rng.int(spec.int64Max!)), (v) => BigInt(v));
      feeds[`x${i}`] = { dtype: 'int64', shape: spec.shape, data };
      return g.input(`x${i}`, 'int64', spec.shape);
    }
    const data = F.from(spec.values ?? Array.from({ length: n }, () => sample(rng, spec.domain ?? 'any')));
    feeds[`x${i}`] = { dtype, shape: spec.shape, data };
    return g.input(`x${i}`, dtype, spec.shape);
  });
  const y = c.build(xs);
  // Weight every output element differently so that no error can cancel out.
  const n = y.shape.reduce<number>((a, b) => a * (b as number), 1);
  const r = g.constant({ dtype, shape: y.shape as number[], data: F.from(Array.from({ length: n }, () => 0.5 + rng.next())) });
  const loss = o.sum(o.mul(y, r));
  const wrt = xs.filter((x) => x.dtype === dtype);
  const grads = grad(loss, wrt);
  const outputs: Record<string, Tensor> = { loss };
  grads.forEach((t, i) => (outputs[`g${i}`] = t));
  const full = compile(xs, outputs);
  const lossOnly = compile(xs, { loss });
  const analytic = await full.run(feeds);

  const h = dtype === 'float64' ? 1e-6 : 1e-2;
  const [rtol, atol] = dtype === 'float64' ? [1e-5, 1e-6] : [3e-2, 3e-3];
  let worst = 0;
  for (let k = 0; k < wrt.length; k++) {
    const name = wrt[k].name!;
    const data = feeds[name].data as Float64Array | Float32Array;
    const got = analytic[`g${k}`].data as Float64Array | Float32Array;
    assert.deepEqual(analytic[`g${k}`].shape, feeds[name].shape, `gradient of ${name} has the input's shape`);
    for (let i = 0; i < data.length; i++) {
      const keep = data[i];
      data[i] = keep + h;
      const up = Number((await lossOnly.run(feeds)).loss.data[0]);
      data[i] = keep - h;
      const down = Number((await lossOnly.run(feeds)).loss.data[0]);
      data[i] = keep;
      const numeric = (up - down) / (2 * h);
      const err = Math.abs(got[i] - numeric);
      worst = Math.max(worst, err / (Math.abs(numeric) + atol));
      assert.ok(err <= atol + rtol * Math.abs(numeric), `d loss/d ${name}[${i}]: analytic ${got[i]}, numeric ${numeric}`);
    }
  }
  await full.dispose();
  await lossOnly.dispose();
  return worst;
}
