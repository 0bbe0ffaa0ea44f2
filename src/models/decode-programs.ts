// The two compiled programs of decoding with a static KV cache (Hugging Face's StaticCache):
// fixed shapes, so one decode program per (B, L) bucket serves every token. Letters: B batch,
// T prompt slots, L cache slots, G key/value heads, D head size, V vocabulary. A cache is
// [B, G, L, D], the layout attention reads (a [B, L, G, D] cache cost a transpose of every cache
// per step: 20% of a GPT-2 decode step's kernel time).
//
//   prefill (per T, L):  prompts [B, T] left-padded, with attention mask and positions
//                        → logits of the last slot [B, V], caches [B, G, L, D] (slots ≥ T zero)
//   decode  (per B, L):  one token per row at slot p, its position, the slots' mask [B, L],
//                        the caches → logits [B, V], and (by `CacheWrite`) either
//     'host':     the token's keys and values [B, G, 1, D], attended beside the cache; the
//                 caller copies them into slot p of its one buffer set (the default)
//     'scatter':  the caches with slot p written (in and out: the caller keeps two buffer sets
//                 and swaps them each step)
//
// Slot p is the same for every row (prompts are left-padded to T slots), while each row's position
// is p minus its padding. The mask (fed by the host) says which slots a row may attend to: its
// real prompt slots and the slots written since, so it also hides every slot after p.

import { Graph, type Tensor } from '../engine/graph.ts';
import * as o from '../engine/ops.ts';
import { compile, type Program } from '../engine/program.ts';
import { MASKED } from '../nn/attention.ts';
import type { KvCache } from './forward.ts';
import type { Model } from './model.ts';

/** Graph input names of the cache before a step, and output names of the cache after it (HF's ONNX names). */
export const pastName = (layer: number, kind: 'key' | 'value'): string => `past_key_values.${layer}.${kind}`;
export const presentName = (layer: number, kind: 'key' | 'value'): string => `present.${layer}.${kind}`;

/**
 * How a decode step stores its keys and values at slot p. `host` leaves the cache an input only:
 * the step attends over the cache and its own keys side by side and returns them; the host
 * copies B·G·D values per layer into slot p. `scatter` writes in the graph (ONNX ScatterND, add,
 * onto a slot that is still zero); ORT cannot update a graph input in place, so the output is a
 * copy of the whole cache every step. A select, cache·(1 − onehot(p)) + onehot(p)·k as one Where,
 * was slower still. GPT-2 124M on 2 cores, ms per decode step (host / scatter / where):
 * B = 1, L = 256: 23.9 / 33.8 / 37.2; B = 8, L = 256: 52.6 / 118 / 134; B = 8, L = 512: 56.6 / 163.
 */
export type CacheWrite = 'host' | 'scatter';

export class DecodePrograms {
  /** The decode step; compiled once per (B, L) bucket. */
  readonly decode: Program;
  private readonly prefills = new Map<string, Program>();

  /**
   * `maxLength`: the longest prompt + completion the programs serve (RoPE tables cover that many
   * positions, not the model's whole context); default config.maxPositions.
   */
  constructor(readonly model: Model, readonly cacheWrite: CacheWrite = 'host', readonly maxLength?: number) {
    this.decode = this.buildDecode();
  }

  /** Whether a decode step needs its slot as an input: in-graph writes, or layers with their own window. */
  static needsSlot(model: Model, cacheWrite: CacheWrite): boolean {
    return cacheWrite === 'scatter' || (model.config.family === 'llama' && (model.config.variant?.layerWindows ?? null) !== null);
  }

  /** The prefill program for T prompt slots and L cache slots (B stays symbolic). */
  prefill(T: number, L: number): Program {
    const key = `${T}:${L}`;
    let p = this.prefills.get(key);
    if (!p) this.prefills.set(key, (p = this.buildPrefill(T, L)));
    return p;
  }

  /** Compiled sessions so far, prefill and decode. */
  get compiledBuckets(): number {
    let n = this.decode.compiledBuckets;
    for (const p of this.prefills.values()) n += p.compiledBuckets;
    return n;
  }

  async dispose(): Promise<void> {
    await this.decode.dispose();
    for (const p of this.prefills.values()) await p.dispose();
    this.prefills.clear();
  }

  private buildPrefill(T: number, L: number): Program {
    const { config } = this.model;
    const g = new Graph();
    const ids = g.input('input_ids', 'int64', ['B', T]);
    const mask = g.input('attention_mask', 'bool', ['B', T]);
    const positions = g.input('position_ids', 'int64', ['B', T]);
    const out = this.model.forward(g, ids, { attentionMask: mask, positionIds: positions, maxLength: this.maxLength });
    const last = o.reshape(o.slice(out.logits, { axes: [1], starts: [T - 1], ends: [T] }), ['B', config.vocabSize]); // [B, V]
    const outputs: Record<string, Tensor> = { logits: last };
    // [B, T, G, D] → [B, G, L, D]
    const pad = (t: Tensor): Tensor => o.pad(o.transpose(t, [0, 2, 1, 3]), [[0, 0], [0, 0], [0, L - T], [0, 0]], ['B', config.numKvHeads, L, config.headDim]);
    out.kv.forEach(({ k, v }, i) => {
      outputs[presentName(i, 'key')] = pad(k);
      outputs[presentName(i, 'value')] = pad(v);
    });
    return compile([ids, mask, positions, ...out.params.values()], outputs, { label: 'generation (prompt)' });
  }

  private buildDecode(): Program {
    const { config } = this.model;
    const g = new Graph();
    const ids = g.input('input_ids', 'int64', ['B', 1]);
    const positions = g.input('position_ids', 'int64', ['B', 1]);
    const mask = g.input('attention_mask', 'bool', ['B', 'L']);
    const cacheShape = ['B', config.numKvHeads, 'L', config.headDim];
    const layers = Array.from({ length: config.numLayers }, (_, i) => ({
      k: g.input(pastName(i, 'key'), 'float32', cacheShape),
      v: g.input(pastName(i, 'value'), 'float32', cacheShape),
    }));
    const bias = o.reshape(o.where(mask, g.scalar(0), g.scalar(MASKED)), ['B', 1, 'L']); // [B, 1, L]
    // The slot written, for the in-graph writes.
    const slot = DecodePrograms.needsSlot(this.model, this.cacheWrite) ? g.input('cache_position', 'int64', []) : null;
    const write = slot === null || this.cacheWrite === 'host' ? undefined : scatterWrite(g, slot, config.numKvHeads);
    const cache: KvCache = { layers, bias, write, ...(slot ? { slot } : {}) };
    const out = this.model.forward(g, ids, { positionIds: positions, cache, maxLength: this.maxLength });
    const outputs: Record<string, Tensor> = { logits: o.reshape(out.logits, ['B', config.vocabSize]) }; // [B, V]
    out.kv.forEach(({ k, v }, i) => {
      outputs[presentName(i, 'key')] = k; // [B, G, L, D], or [B, G, 1, D] with 'host'
      outputs[presentName(i, 'value')] = v;
    });
    const inputs = [ids, positions, mask, ...(slot ? [slot] : []), ...layers.flatMap((l) => [l.k, l.v]), ...out.params.values()];
    return compile(inputs, outputs, { label: 'generation (decode step)' });
  }
}

/** cache[b, h, p] += fresh[b, h, 0] (ScatterND, reduction add): exact because slot p is still zero. */
function scatterWrite(g: Graph, slot: Tensor, G: number): KvCache['write'] {
  const at = (t: Tensor, shape: (number | string)[]) => o.expand(o.reshape(t, shape), ['B', G, 1, 1]);
  const indices = o.concat([at(o.range(g, 'B'), ['B', 1, 1, 1]), at(o.range(g, G), [1, G, 1, 1]), at(slot, [1, 1, 1, 1])], 3); // [B, G, 1, 3]: (b, h, p)
  return (cache, fresh) => o.scatterNDAdd(cache, indices, fresh);
}
