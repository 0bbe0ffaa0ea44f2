// Child process of ort-logging.test.ts (ONNX Runtime logs from native code straight to fd 2,
// so only another process can see it): a tiny model's forward program fed a token id beyond
// the vocabulary. Prints the error's class and message as one JSON line on stdout.

import { Graph } from '../../src/engine/graph.ts';
import { compile } from '../../src/engine/program.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';

const V = 32;
const model = createModel(presetConfig('tiny', { vocabSize: V, maxPositions: 16 }), { seed: 1 });
const g = new Graph();
const ids = g.input('input_ids', 'int64', ['B', 'T']);
const fwd = model.forward(g, ids);
const program = compile([ids, ...fwd.params.values()], { logits: fwd.logits });
const feed = (id: bigint) => ({ ...model.feeds(), input_ids: { dtype: 'int64' as const, shape: [1, 3], data: BigInt64Array.of(1n, id, 2n) } });
// One good run first (the session exists and works), then the bad id.
const ok = await program.run(feed(BigInt(V - 1)));
try {
  await program.run(feed(298n));
  console.log(JSON.stringify({ ok: ok.logits.shape, error: null }));
} catch (err) {
  console.log(JSON.stringify({ ok: ok.logits.shape, error: { name: (err as Error).constructor.name, message: (err as Error).message } }));
}
await program.dispose();
