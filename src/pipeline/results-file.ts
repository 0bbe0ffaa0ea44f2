// The results file of an evaluation (`lethe.results/1`, src/report/schema.ts), composed here in
// the cli layer because eval must not import report. Every file is checked against the schema
// before it is written (atomically), so a file lethe writes always reads back.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import type { MetricResult } from '../eval/metrics/metric-result.ts';
import { writeFileAtomic } from '../models/formats/write-file-atomic.ts';
import { parseResults, RESULTS_SCHEMA, type Results, type Role } from '../results/schema.ts';
import { CONFIG_FILE } from './run-config.ts';
import { LETHE_VERSION } from '../version.ts';

export type MetricFamilies = Record<string, Record<string, MetricResult>>;

/**
 * JSON has no NaN or ±Infinity: a value that is not finite becomes null with the reason, and
 * per-item values holding one are left out (the aggregate still stands).
 */
function finiteMetric(name: string, m: MetricResult): Results['metrics'][string][string] {
  const out: Results['metrics'][string][string] = Number.isFinite(m.value) || m.value === null
    ? { value: m.value }
    : { value: null, unavailable: `${name} is not a finite number (${m.value})` };
  if (m.unavailable !== undefined && out.value === null) out.unavailable ??= m.unavailable;
  if (m.perItem.length > 0 && m.perItem.every(Number.isFinite)) out.perItem = m.perItem;
  // n, skipped, interval and groups travel with the value: a reader needs them to trust it.
  if (Number.isInteger(m.n) && m.n >= 0) out.n = m.n;
  if (m.skipped && m.skipped.count > 0) out.skipped = { count: m.skipped.count, reason: m.skipped.reason };
  if (m.interval) {
    if ('lower' in m.interval) {
      if (out.value !== null && Number.isFinite(m.interval.lower) && Number.isFinite(m.interval.upper)) out.interval = { ...m.interval };
    } else out.interval = { unavailable: m.interval.unavailable };
  }
  if (m.groups) {
    const groups = Object.entries(m.groups).filter(([, v]) => v.every(Number.isFinite));
    if (groups.length > 0) out.groups = Object.fromEntries(groups);
  }
  return out;
}

/** What the model folder's run says about it: `RUN/model` of `lethe unlearn` is unlearned (with its method), `OUT/target/model` of `lethe train` the target. */
export function runInfo(modelDir: string): { name: string; role?: Role; method?: Results['method'] } {
  const dir = resolve(modelDir);
  if (basename(dir) !== 'model') return { name: basename(dir) };
  const run = dirname(dir);
  const readConfig = (folder: string): Record<string, unknown> | null => {
    const path = join(folder, CONFIG_FILE);
    if (!existsSync(path)) return null;
    try {
      const json = parse(readFileSync(path, 'utf8')) as unknown;
      return json && typeof json === 'object' ? (json as Record<string, unknown>) : null;
    } catch {
      return null; // not ours to judge here: a name is all that is needed
    }
  };
  const own = readConfig(run);
  if (own?.command === 'unlearn' && typeof own.method === 'string') {
    const options = { ...(own.methodOptions as Record<string, unknown> | undefined), lr: own.lr, epochs: own.epochs, scope: own.scope };
    return { name: basename(run), role: 'unlearned', method: { name: own.method, options } };
  }
  const role = basename(run);
  if ((role === 'target' || role === 'retain') && readConfig(dirname(run))?.command === 'train') return { name: role, role };
  return { name: basename(run) };
}

export interface ResultsInput {
  modelDir: string;
  name?: string;
  role?: Role;
  benchmark: Results['benchmark'];
  metrics: MetricFamilies;
  efficiency: Results['efficiency'];
  evaluated?: Results['evaluated'];
  overlap?: Results['overlap'];
  overlong?: Results['overlong'];
  warnings?: string[];
  /** Multiple-choice sets (--benchmark mc). */
  multipleChoice?: Results['multipleChoice'];
}

export function composeResults(input: ResultsInput): Results {
  const info = runInfo(input.modelDir);
  const role = input.role ?? info.role;
  const metrics: Results['metrics'] = {};
  for (const [family, values] of Object.entries(input.metrics)) {
    metrics[family] = Object.fromEntries(Object.entries(values).map(([name, m]) => [name, finiteMetric(name, m)]));
  }
  const results = {
    schema: RESULTS_SCHEMA,
    model: { name: input.name ?? info.name, path: resolve(input.modelDir) },
    ...(role ? { role } : {}),
    ...(info.method && (role ?? 'unlearned') === 'unlearned' ? { method: info.method } : {}),
    benchmark: input.benchmark,
    metrics,
    ...(input.multipleChoice ? { multipleChoice: input.multipleChoice } : {}),
    efficiency: input.efficiency,
    ...(input.evaluated ? { evaluated: input.evaluated } : {}),
    ...(input.overlap?.length ? { overlap: input.overlap } : {}),
    ...(input.overlong && Object.keys(input.overlong).length ? { overlong: input.overlong } : {}),
    ...(input.warnings?.length ? { warnings: input.warnings } : {}),
    createdAt: new Date().toISOString(),
    lethe: LETHE_VERSION,
  };
  return parseResults(JSON.parse(JSON.stringify(results)), 'results');
}

/** `out` names the file, or a folder to write results.json into. */
export function resultsPath(out: string): string {
  return existsSync(out) && statSync(out).isDirectory() ? join(out, 'results.json') : out;
}

export async function writeResults(out: string, results: Results): Promise<string> {
  const path = resultsPath(out);
  await mkdir(dirname(resolve(path)), { recursive: true });
  await writeFileAtomic(path, JSON.stringify(results, null, 2) + '\n');
  return path;
}
