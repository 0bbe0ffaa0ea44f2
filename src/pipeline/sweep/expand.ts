/**
 * A sweep file → its trials. Grid: the Cartesian product of every listed value, per method.
 * Random: `trials` points per method, each field drawn independently (a list: uniform choice;
 * uniform/logUniform/intUniform: from the range), from a generator seeded by the search seed and
 * the method's name, so the same file always gives the same trials. Each point runs once per seed.
 *
 * A trial's id is the content hash of its fully resolved config, with every input (model, data
 * files, retain reference) standing as its content hash rather than its path: the same trial on
 * another machine, or after the folder moved, keeps its id; a changed model or setting gets a new
 * one. `settingId` is the same hash without the seed (the trials one spread-over-seeds row joins).
 */
import { Rng } from '../../engine/random.ts';
import { METHODS } from '../../unlearn/methods/index.ts';
import { hashJson, hashPath } from './content-hash.ts';
import { isRange, type EvaluationSettings, type Scalar, type SelectionRule, type SweepSpec, type SweptValue } from './sweep-schema.ts';

/** An input file or folder, by path (as the coordinator sees it) and content hash. */
export interface InputRef {
  path: string;
  hash: string;
}

/** What one trial runs, every sweep-level default applied. Paths are the coordinator's. */
export interface TrialConfig {
  model: InputRef;
  data: {
    forget?: InputRef;
    retain?: InputRef;
    eval?: InputRef;
    tofuForget?: string;
    tofuRetain?: string;
    tofuAuthors?: number;
    forgetAuthors?: number;
  };
  retainReference?: InputRef;
  /** The method's registered name (src/unlearn/methods/). */
  method: string;
  /** Every option of the method: the sweep's value, else the method's default. */
  options: Record<string, Scalar>;
  /** Loop settings the sweep gave (the runner applies its defaults to the rest). */
  loop: Record<string, Scalar>;
  scope?: Record<string, Scalar>;
  seed: number;
  evaluations: string[];
  attacks: string[];
  /** Evaluation settings the sweep gave (greedy tokens per answer, items per set, batch size). */
  evaluation?: EvaluationSettings;
  keepModel: boolean;
}

export interface Trial {
  /** Content hash of the resolved config (16 hex digits). */
  id: string;
  /** The same without the seed: trials that differ only by seed share it. */
  settingId: string;
  /** The method entry's key in the sweep file: the method's name, or a label (npo-lora). */
  method: string;
  seed: number;
  /** The swept fields of this trial: `options.beta`, `loop.lr`, `scope.r`, `model` → value. */
  params: Record<string, Scalar>;
  config: TrialConfig;
}

export interface ExpandedSweep {
  name: string;
  /** Hash of the sorted trial ids: two runs of the same sweep share it. */
  sweepId: string;
  selection: SelectionRule;
  trials: Trial[];
}

export interface ExpandOptions {
  /** Content hash of an input (default: hashPath, SHA-256 of the bytes). */
  hash?: (path: string) => Promise<string>;
  /**
   * The integrator's full resolution of a trial (the unlearning run's own defaults, RMU's layer
   * from the model…), applied before hashing so that ids hash what really runs. It may throw a
   * LetheError to reject a trial before anything runs. Default: the config as expanded.
   */
  resolve?: (config: TrialConfig) => TrialConfig;
}

type Axis = { name: string; value: SweptValue };

function axesOf(spec: SweepSpec, label: string): Axis[] {
  const entry = spec.methods[label] ?? {};
  const axes: Axis[] = [];
  if (spec.models && spec.models.length > 1) axes.push({ name: 'model', value: spec.models });
  for (const [k, v] of Object.entries(entry.options ?? {})) axes.push({ name: `options.${k}`, value: v });
  const loop = { ...(spec.loop ?? {}), ...(entry.loop ?? {}) };
  for (const [k, v] of Object.entries(loop)) axes.push({ name: `loop.${k}`, value: v });
  for (const [k, v] of Object.entries(entry.scope ?? {})) axes.push({ name: `scope.${k}`, value: v });
  return axes;
}

/** Every combination of the listed values (grid search). */
function gridPoints(axes: Axis[]): Record<string, Scalar>[] {
  let points: Record<string, Scalar>[] = [{}];
  for (const { name, value } of axes) {
    const values = Array.isArray(value) ? value : [value as Scalar];
    points = points.flatMap((p) => values.map((v) => ({ ...p, [name]: v })));
  }
  return points;
}

/** FNV-1a of a string, to give each method its own random stream. */
function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function draw(value: SweptValue, rng: Rng): Scalar {
  if (Array.isArray(value)) return value[rng.int(value.length)];
  if (!isRange(value)) return value;
  if ('uniform' in value) {
    const [a, b] = value.uniform as [number, number];
    return a + rng.next() * (b - a);
  }
  if ('logUniform' in value) {
    const [a, b] = value.logUniform as [number, number];
    return Math.exp(Math.log(a) + rng.next() * (Math.log(b) - Math.log(a)));
  }
  const [a, b] = (value as { intUniform: [number, number] }).intUniform;
  return a + rng.int(b - a + 1);
}

function randomPoints(axes: Axis[], trials: number, seed: number, method: string): Record<string, Scalar>[] {
  const rng = new Rng((seed ^ fnv(method)) >>> 0);
  return Array.from({ length: trials }, () => Object.fromEntries(axes.map(({ name, value }) => [name, draw(value, rng)])));
}

/** Only the fields that vary (a fixed value is part of the config, not a parameter). */
function sweptOnly(axes: Axis[], point: Record<string, Scalar>): Record<string, Scalar> {
  const varying = new Set(axes.filter((a) => (Array.isArray(a.value) ? a.value.length > 1 : isRange(a.value))).map((a) => a.name));
  return Object.fromEntries(Object.entries(point).filter(([k]) => varying.has(k)));
}

/**
 * The config with each input replaced by its content hash: what the id is computed from.
 * keepModel is left out: keeping the model or not changes no result.
 */
function identity(config: TrialConfig): unknown {
  const ref = (r?: InputRef) => r?.hash;
  return { ...config, keepModel: undefined, model: ref(config.model), retainReference: ref(config.retainReference), data: { ...config.data, forget: ref(config.data.forget), retain: ref(config.data.retain), eval: ref(config.data.eval) } };
}

/** The trial id of a resolved config (exported for tests and for tools that check a folder). */
export function trialId(config: TrialConfig): string {
  return hashJson(identity(config));
}

export function settingIdOf(config: TrialConfig): string {
  return hashJson({ ...(identity(config) as object), seed: undefined });
}

/**
 * Expands a validated sweep file into trials (hashing every input once). Order: methods as
 * written, then points, then seeds. Points that resolve to the same config are kept once.
 */
export async function expandSweep(spec: SweepSpec, opts: ExpandOptions = {}): Promise<ExpandedSweep> {
  const hashOf = opts.hash ?? hashPath;
  const hashes = new Map<string, Promise<string>>();
  const ref = async (path: string): Promise<InputRef> => {
    if (!hashes.has(path)) hashes.set(path, hashOf(path));
    return { path, hash: await hashes.get(path)! };
  };
  const d = spec.data;
  const data: TrialConfig['data'] = {
    ...(d.forget ? { forget: await ref(d.forget) } : {}),
    ...(d.retain ? { retain: await ref(d.retain) } : {}),
    ...(d.eval ? { eval: await ref(d.eval) } : {}),
    ...(d.tofuForget ? { tofuForget: d.tofuForget } : {}),
    ...(d.tofuRetain ? { tofuRetain: d.tofuRetain } : {}),
    ...(d.tofuAuthors !== undefined ? { tofuAuthors: d.tofuAuthors, forgetAuthors: d.forgetAuthors } : {}),
  };
  const retainReference = spec.retainReference ? await ref(spec.retainReference) : undefined;
  const trials: Trial[] = [];
  const seen = new Set<string>();
  for (const label of Object.keys(spec.methods)) {
    const method = spec.methods[label]?.method ?? label;
    const axes = axesOf(spec, label);
    const points = spec.search === 'grid' ? gridPoints(axes) : randomPoints(axes, spec.search.random.trials, spec.search.random.seed, label);
    const defaults = METHODS[method].defaults as unknown as Record<string, Scalar>;
    for (const point of points) {
      const pick = (prefix: string) => Object.fromEntries(Object.entries(point).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
      const scope = pick('scope.');
      for (const seed of spec.seeds) {
        const modelPath = (point.model as string | undefined) ?? spec.model ?? spec.models![0];
        let config: TrialConfig = {
          model: await ref(modelPath),
          data,
          ...(retainReference ? { retainReference } : {}),
          method,
          options: { ...defaults, ...pick('options.') },
          loop: pick('loop.'),
          ...(Object.keys(scope).length ? { scope } : {}),
          seed,
          evaluations: spec.evaluations,
          attacks: spec.attacks,
          ...(spec.evaluation ? { evaluation: spec.evaluation } : {}),
          keepModel: spec.keepModels,
        };
        if (opts.resolve) config = opts.resolve(config);
        const id = trialId(config);
        if (seen.has(id)) continue;
        seen.add(id);
        trials.push({ id, settingId: settingIdOf(config), method: label, seed, params: sweptOnly(axes, point), config });
      }
    }
  }
  return { name: spec.name ?? 'sweep', sweepId: hashJson([...seen].sort()), selection: spec.selection, trials };
}

/** The inputs of a trial by role (model, forget, retain, eval, retainReference). */
export function trialInputs(config: TrialConfig): Record<string, InputRef> {
  const out: Record<string, InputRef> = { model: config.model };
  if (config.data.forget) out.forget = config.data.forget;
  if (config.data.retain) out.retain = config.data.retain;
  if (config.data.eval) out.eval = config.data.eval;
  if (config.retainReference) out.retainReference = config.retainReference;
  return out;
}
