// The host side of a static KV cache for one (B, L) shape: the cache buffers and the decode
// step's small inputs, allocated once and reused by every step and call. Per step the host
// writes B ids and positions and one mask column; with `host` writes it also copies the step's
// keys and values (B·G·D values per layer and kind) into slot p. With in-graph writes the caches
// alternate between two buffer sets, one the step's input and the other its output, so nothing
// is copied between steps. Letters as in decode-programs.ts.

import type { HostTensor } from '../engine/dtype.ts';
import type { Feeds } from '../engine/program.ts';
import { pastName, presentName, type CacheWrite } from './decode-programs.ts';
import type { ModelConfig } from './formats/model-config.ts';

interface LayerCache {
  key: HostTensor;
  value: HostTensor;
}

/** Cache buffers under the programs' input (past) or output (present) names. */
function named(set: LayerCache[], name: typeof pastName): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  set.forEach((c, i) => {
    out[name(i, 'key')] = c.key;
    out[name(i, 'value')] = c.value;
  });
  return out;
}

function layerCaches(config: ModelConfig, shape: number[]): LayerCache[] {
  const n = shape.reduce((a, b) => a * b, 1);
  const tensor = (): HostTensor => ({ dtype: 'float32', shape, data: new Float32Array(n) });
  return Array.from({ length: config.numLayers }, () => ({ key: tensor(), value: tensor() }));
}

export class DecodeBuffers {
  /** int64 [B, 1]: the token each row feeds this step. */
  readonly ids: HostTensor;
  /** int64 [B, 1]: its position. */
  readonly positions: HostTensor;
  /** bool [B, L]: the slots each row attends to. */
  readonly mask: HostTensor;
  /** float32 [B, V]: logits of the prefill and of each step. */
  readonly logits: HostTensor;
  private readonly slot: HostTensor; // int64 []: the slot an in-graph write fills
  private readonly sets: LayerCache[][]; // [B, G, L, D] each: two sets with in-graph writes, one with host writes
  private readonly fresh: LayerCache[] | null; // [B, G, 1, D]: a host-written step's keys and values
  private feeds: Feeds[] = [];
  private into: Record<string, HostTensor>[] = [];

  constructor(private readonly config: ModelConfig, readonly B: number, readonly L: number, readonly cacheWrite: CacheWrite, private readonly feedSlot = cacheWrite === 'scatter') {
    const { numKvHeads: G, headDim: D, vocabSize: V } = config;
    this.ids = { dtype: 'int64', shape: [B, 1], data: new BigInt64Array(B) };
    this.positions = { dtype: 'int64', shape: [B, 1], data: new BigInt64Array(B) };
    this.mask = { dtype: 'bool', shape: [B, L], data: new Uint8Array(B * L) };
    this.logits = { dtype: 'float32', shape: [B, V], data: new Float32Array(B * V) };
    this.slot = { dtype: 'int64', shape: [], data: new BigInt64Array(1) };
    const sets = cacheWrite === 'host' ? 1 : 2;
    this.sets = Array.from({ length: sets }, () => layerCaches(config, [B, G, L, D]));
    this.fresh = cacheWrite === 'host' ? layerCaches(config, [B, G, 1, D]) : null;
  }

  /** Starts a batch: the parameter feeds, and the prompt mask [B, T] as the first T slots. */
  start(params: Feeds, promptMask: Uint8Array, T: number): void {
    const { B, L } = this;
    const mask = this.mask.data as Uint8Array;
    mask.fill(0);
    for (let b = 0; b < B; b++) mask.set(promptMask.subarray(b * T, (b + 1) * T), b * L);
    const step: Feeds = { input_ids: this.ids, position_ids: this.positions, attention_mask: this.mask, ...params };
    if (this.feedSlot) step.cache_position = this.slot;
    if (this.fresh) {
      this.feeds = [{ ...step, ...named(this.sets[0], pastName) }];
      this.into = [{ ...named(this.fresh, presentName), logits: this.logits }];
    } else {
      this.feeds = [0, 1].map((k) => ({ ...step, ...named(this.sets[k], pastName) }));
      this.into = [1, 0].map((k) => ({ ...named(this.sets[k], presentName), logits: this.logits }));
    }
  }

  /** Outputs of the prefill: the logits and the (first) cache set. */
  prefillInto(): Record<string, HostTensor> {
    return { ...named(this.sets[0], presentName), logits: this.logits };
  }

  /** Hides slot s from every row (outside a sliding window). */
  hide(s: number): void {
    const mask = this.mask.data as Uint8Array;
    for (let b = 0; b < this.B; b++) mask[b * this.L + s] = 0;
  }

  /** Feeds and outputs of decode step i, which fills slot p (ids and positions already set). */
  step(i: number, p: number): { feeds: Feeds; into: Record<string, HostTensor> } {
    // An in-graph write fills slot p before attending, so the step may see it; a host write comes after.
    (this.slot.data as BigInt64Array)[0] = BigInt(p);
    if (!this.fresh) this.open(p);
    const k = i % this.feeds.length;
    return { feeds: this.feeds[k], into: this.into[k] };
  }

  /** After step at slot p: a host write copies the step's keys and values into slot p and opens it. */
  commit(p: number): void {
    if (!this.fresh) return;
    const { B, L } = this;
    const { numKvHeads: G, headDim: D } = this.config;
    this.fresh.forEach((fresh, i) => {
      for (const kind of ['key', 'value'] as const) {
        const from = fresh[kind].data as Float32Array; // [B, G, 1, D]
        const to = this.sets[0][i][kind].data as Float32Array; // [B, G, L, D]
        for (let bg = 0; bg < B * G; bg++) to.set(from.subarray(bg * D, (bg + 1) * D), (bg * L + p) * D);
      }
    });
    this.open(p);
  }

  private open(p: number): void {
    const mask = this.mask.data as Uint8Array;
    for (let b = 0; b < this.B; b++) mask[b * this.L + p] = 1;
  }
}
