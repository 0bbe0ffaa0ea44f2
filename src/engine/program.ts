// A compiled program: a graph's outputs as one ONNX Runtime session. This is the only module
// that imports onnxruntime-node. Sessions are created once per shape bucket (the values of the
// symbolic dimensions) and cached; inputs are passed as views on the caller's typed arrays and
// outputs can be written straight into caller-owned buffers, so a train step copies nothing.

import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { collectGarbage } from './collect-garbage.ts';
import { DTYPES, type HostTensor, type TypedArray } from './dtype.ts';
import { LetheError, ShapeError } from './errors.ts';
import type { Tensor } from './graph.ts';
import { exportOnnx } from './onnx-export.ts';
import { fmt } from './shape.ts';

export interface CompileOptions {
  /** Bake the symbolic sizes of each call into its own session (faster runs, one compile per bucket). Default true. */
  specialize?: boolean;
  /** Intra-op threads; default all cores (or LETHE_THREADS). */
  threads?: number;
  /** Let idle intra-op threads spin-wait for work. Default true, ONNX Runtime's (LETHE_SPIN=0: false). */
  spinning?: boolean;
  /** What the program is, for compile progress lines ("the training step"); default "a program". */
  label?: string;
}

/** A session being created (`done` false) or created (`done` true, after `seconds`). */
export interface CompileEvent {
  label: string;
  done: boolean;
  seconds: number;
}

let compileListener: ((e: CompileEvent) => void) | null = null;

/**
 * Told when ONNX Runtime starts and ends creating a session (a big model's can take a minute),
 * so a command can say what it is waiting for; null stops it. One listener per process.
 */
export function onCompile(listener: ((e: CompileEvent) => void) | null): void {
  compileListener = listener;
}

export type Feeds = Record<string, HostTensor>;

/**
 * ONNX Runtime's own log stays off stderr: a failing kernel (e.g. a Gather index beyond a
 * table) otherwise prints a coloured line before the exception that carries the same message,
 * and lethe reports that exception as one LetheError. Severity 4 (fatal) for the environment,
 * each session and each run; LETHE_DEBUG=1 lets warnings and errors through (severity 2).
 * The environment's level counts only if set before the first session, hence at load.
 */
const ORT_LOG_SEVERITY: 2 | 4 = process.env.LETHE_DEBUG === '1' ? 2 : 4;
ort.env.logLevel = ORT_LOG_SEVERITY === 2 ? 'warning' : 'fatal';

/**
 * onnxruntime-node 1.30 writes an output into the caller's buffer given for it, then returns a
 * fresh copy of it as well (its binding converts every output). The copies of a train step's
 * parameters and optimiser state are garbage at once, but V8 frees them only at its next major
 * collection, which may come after the next step's peak: a SmolLM2-360M step kept 4 GB of them.
 * After a run whose given buffers are this large, the next run starts with a collection.
 */
const COLLECT_AFTER_BYTES = 64 * 2 ** 20;
let copiesPending = false;

function threadCount(opt?: number): number {
  const env = Number(process.env.LETHE_THREADS);
  return opt ?? (Number.isInteger(env) && env > 0 ? env : availableParallelism());
}

export class Program {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly specialize: boolean;
  private readonly threads: number;
  private readonly spinning: boolean;
  private readonly label: string;
  /** Sessions created so far (one per shape bucket): visible so tests can count compilations. */
  compiledBuckets = 0;

  constructor(
    readonly inputs: readonly Tensor[],
    readonly outputs: Readonly<Record<string, Tensor>>,
    options: CompileOptions = {},
  ) {
    this.specialize = options.specialize ?? true;
    this.threads = threadCount(options.threads);
    this.spinning = options.spinning ?? process.env.LETHE_SPIN !== '0';
    this.label = options.label ?? 'a program';
    for (const t of inputs) if (t.op !== 'input' || !t.name) throw new ShapeError(`program: ${t} is not a named graph input`);
  }

  get outputNames(): string[] {
    return Object.keys(this.outputs);
  }

  /** The ONNX model for one bucket (or fully symbolic), e.g. to inspect it with other tools. */
  toOnnx(bindings?: ReadonlyMap<string, number>): Uint8Array {
    return exportOnnx({ inputs: this.inputs, outputs: this.outputs, bindings });
  }

  /** Check feeds against the declared inputs; return the symbol values they imply. */
  private bind(feeds: Feeds): Map<string, number> {
    const bindings = new Map<string, number>();
    for (const t of this.inputs) {
      const f = feeds[t.name!];
      if (!f) throw new LetheError(`program: missing input "${t.name}" ${fmt(t.shape)} ${t.dtype}`);
      if (f.dtype !== t.dtype) throw new LetheError(`program: input "${t.name}" must be ${t.dtype}, got ${f.dtype}`);
      if (f.shape.length !== t.rank) throw new LetheError(`program: input "${t.name}" must have shape ${fmt(t.shape)}, got ${fmt(f.shape)}`);
      const n = f.shape.reduce((a, b) => a * b, 1);
      if (f.data.length !== n) throw new LetheError(`program: input "${t.name}" has shape ${fmt(f.shape)} but ${f.data.length} values`);
      t.shape.forEach((d, i) => {
        const got = f.shape[i];
        if (typeof d === 'number') {
          if (d !== got) throw new LetheError(`program: input "${t.name}" must have shape ${fmt(t.shape)}, got ${fmt(f.shape)}`);
        } else {
          const prev = bindings.get(d);
          if (prev !== undefined && prev !== got) throw new LetheError(`program: dimension ${d} is ${prev} in one input and ${got} in "${t.name}"`);
          bindings.set(d, got);
        }
      });
    }
    return bindings;
  }

  private session(bindings: Map<string, number>): Promise<ort.InferenceSession> {
    const key = this.specialize ? [...bindings].sort().map(([k, v]) => `${k}=${v}`).join(',') : '*';
    let s = this.sessions.get(key);
    if (!s) {
      const model = this.toOnnx(this.specialize ? bindings : undefined);
      // LETHE_DUMP_ONNX=prefix writes each program as exported and as ONNX Runtime optimised it
      // (what runs, node names as in the profile), to find what a step's memory holds.
      const dump = process.env.LETHE_DUMP_ONNX ? `${process.env.LETHE_DUMP_ONNX}-${this.label.replace(/\W+/g, '_')}` : null;
      if (dump) writeFileSync(`${dump}.onnx`, model);
      // LETHE_PROFILE=prefix writes ONNX Runtime's per-node profile (JSON) when the program is
      // disposed; `node scripts/profile-summary.mjs FILE` totals it by op.
      const profile = process.env.LETHE_PROFILE;
      const listener = compileListener;
      const t0 = performance.now();
      listener?.({ label: this.label, done: false, seconds: 0 });
      s = ort.InferenceSession.create(model, {
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        intraOpNumThreads: this.threads,
        interOpNumThreads: 1,
        // ORT's CPU arena rounds big requests up and keeps what it grew to: on a GPT-2-124M train
        // step it raised peak memory from 6.1 to 8.5 GB at the same speed. LETHE_ARENA=1 turns it on.
        enableCpuMemArena: process.env.LETHE_ARENA === '1',
        // Whether idle worker threads spin-wait (ONNX Runtime's default) or sleep. Measured on
        // SmolLM2-360M scoring at load average 19-32 (2 cores), sleeping/spinning was 1.37×, 0.81×
        // and 1.31× in three alternating rounds: too noisy to change ONNX Runtime's default;
        // LETHE_SPIN=0 sleeps.
        extra: { session: { intra_op: { allow_spinning: this.spinning ? '1' : '0' }, inter_op: { allow_spinning: this.spinning ? '1' : '0' } } },
        logSeverityLevel: ORT_LOG_SEVERITY,
        ...(dump ? { optimizedModelFilePath: `${dump}.opt.onnx` } : {}),
        ...(profile ? { enableProfiling: true, profileFilePrefix: profile } : {}),
      });
      if (listener) void s.then(() => listener({ label: this.label, done: true, seconds: (performance.now() - t0) / 1000 }), () => {});
      this.sessions.set(key, s);
      this.compiledBuckets++;
    }
    return s;
  }

  /**
   * Run the program. `into` may give, per output, a host tensor to write the result into
   * (its shape must be the output's); other outputs come back in fresh arrays.
   */
  async run(feeds: Feeds, into: Partial<Record<string, HostTensor>> = {}): Promise<Record<string, HostTensor>> {
    const bindings = this.bind(feeds);
    const session = await this.session(bindings);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const t of this.inputs) ortFeeds[t.name!] = toOrt(feeds[t.name!]);
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const name of this.outputNames) {
      const buf = into[name];
      fetches[name] = buf ? toOrt(buf) : null;
    }
    let results: ort.InferenceSession.OnnxValueMapType;
    if (copiesPending) {
      copiesPending = false;
      collectGarbage();
    }
    try {
      results = await session.run(ortFeeds, fetches, { logSeverityLevel: ORT_LOG_SEVERITY });
    } catch (err) {
      throw new LetheError(`program: ONNX Runtime failed: ${explain((err as Error).message)}`);
    }
    const out: Record<string, HostTensor> = {};
    let copied = 0;
    for (const name of this.outputNames) {
      const buf = into[name];
      if (buf) {
        out[name] = buf;
        copied += buf.data.byteLength;
        continue;
      }
      const r = results[name] as ort.Tensor;
      out[name] = { dtype: this.outputs[name].dtype, shape: [...r.dims], data: r.data as TypedArray };
    }
    // Collected when the next run starts: until this function has returned, V8 may still hold them.
    if (copied >= COLLECT_AFTER_BYTES) copiesPending = true;
    return out;
  }

  /** Free the native sessions. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) {
      const session = await s;
      if (process.env.LETHE_PROFILE) session.endProfiling();
      await session.release();
    }
  }
}

/**
 * ONNX Runtime's message, with what an out-of-range Gather usually means in a language model
 * said first: the table is the embedding (or a position table) and the index a token id.
 */
function explain(message: string): string {
  const m = /Gather node\. Name:'([^']*)'.*idx=(-?\d+) must be within the inclusive range \[-(\d+),(\d+)\]/s.exec(message);
  if (!m) return message;
  return `index ${m[2]} is out of range for a table of ${m[3]} rows (Gather node ${m[1]}); in an embedding this is a token id beyond the model's vocabulary of ${m[3]}, e.g. from a tokenizer larger than the model`;
}

// onnxruntime-node has no bfloat16 tensor type: bfloat16 values travel as their uint16 bit
// patterns and the exported graph reinterprets them (BitCast, onnx-export.ts).
const ORT_TYPE = { float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', bool: 'bool', bfloat16: 'uint16', float16: 'float16' } as const;

function toOrt(t: HostTensor): ort.Tensor {
  // ort.Tensor wraps the typed array without copying; bool travels as a Uint8Array view.
  if (!(t.data instanceof DTYPES[t.dtype].array)) throw new LetheError(`program: ${t.dtype} tensor holds a ${t.data.constructor.name}`);
  return new ort.Tensor(ORT_TYPE[t.dtype], t.data as never, t.shape);
}

export function compile(inputs: readonly Tensor[], outputs: Readonly<Record<string, Tensor>>, options?: CompileOptions): Program {
  return new Program(inputs, outputs, options);
}
