// Scale benchmark (issue 15): real model shapes with random weights, each case beside the same
// work in PyTorch (bench/peers/scale.py), each side in its own process (bench/scale-case.ts) so
// peak resident memory is that process's own; the two sides run one after the other.
//
//   llama1b_lora_npo     Llama-3.2-1B shape, LoRA r 8 NPO + retain NLL, batch 4 × 128
//   llama1b_scoring      the same shape, log-probs of the answer tokens (96 of 128 per row)
//   llama1b_generate     the same shape, greedy decoding of 32 tokens after 32-token prompts, 4 rows
//   smollm360m_full_npo  SmolLM2-360M shape, full-parameter NPO + retain NLL, batch 4 × 128
//
// Both sides load one BF16 checkpoint written once into a temp folder (scale-checkpoint.ts) and
// read the same batches. Goals (issue 15): peak RSS ≤ 6 / 3.5 / 3.5 / 8 GB, ratios ≥ 1.5 / 1.3 / – / 1.3.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../src/engine/errors.ts';
import { Rng } from '../src/engine/random.ts';
import { LETHE_MMAP_THRESHOLD } from '../src/io/memory.ts';
import { findTorchPython } from './peer.ts';
import { LLAMA_1B, SMOLLM_360M, TINY, writeScaleCheckpoint, type ScaleShape } from './scale-checkpoint.ts';
import type { ScaleBatches } from './scale-case.ts';
import type { SuiteResult } from './util.ts';

type Kind = 'lora_npo' | 'full_npo' | 'scoring' | 'generate';

interface CaseSpec {
  name: string;
  shape: 'llama1b' | 'smollm360m';
  kind: Kind;
  /** Issue 15's goals: peak RSS (GB) and ratio (null: none set). */
  goal: { rssGb: number; ratio: number | null };
}

export const SCALE_CASES: CaseSpec[] = [
  { name: 'llama1b_lora_npo', shape: 'llama1b', kind: 'lora_npo', goal: { rssGb: 6, ratio: 1.5 } },
  { name: 'llama1b_scoring', shape: 'llama1b', kind: 'scoring', goal: { rssGb: 3.5, ratio: 1.3 } },
  { name: 'llama1b_generate', shape: 'llama1b', kind: 'generate', goal: { rssGb: 3.5, ratio: null } },
  { name: 'smollm360m_full_npo', shape: 'smollm360m', kind: 'full_npo', goal: { rssGb: 8, ratio: 1.3 } },
];

const SHAPES: Record<CaseSpec['shape'], ScaleShape> = { llama1b: LLAMA_1B, smollm360m: SMOLLM_360M };

export interface ScaleOptions {
  steps: number;
  warmup: number;
  log: (s: string) => void;
  /** Case names to run (default all). */
  cases?: string[];
  /** Every case on a few-MB model of the same structure (tests, smoke runs). */
  tiny?: boolean;
  /** LoRA dropout of the LoRA case, both sides. Default 0.05 (TOFU's recipe, lethe's default). */
  loraDropout?: number;
  /** Training cases: gradient checkpointing on both sides (lethe's option, torch.utils.checkpoint per block). Default false. */
  gradientCheckpointing?: boolean;
  /** Training cases: the AdamW moments in bfloat16 on both sides (lethe's --optimizer-state bf16; the peer's bf16-state AdamW). Default f32. */
  optimizerState?: 'f32' | 'bf16';
  /** Keep the checkpoints (in the temp folder) for the next run. Default false. */
  keep?: boolean;
  /** Run the PyTorch side (default true; skipped with a note when no Python has torch). */
  peer?: boolean;
}

export interface SideResult {
  tokens_per_second: number;
  /** Scoring: the mean answer log-prob of the first pass (both sides compute the same one). */
  check?: number;
  step_seconds: number[];
  setup_seconds: number;
  /** lethe: the slowest ONNX Runtime session creation of the case. */
  session_seconds?: number;
  peak_rss_mib: number;
  torch?: string;
}

export interface ScaleCaseJson {
  name: string;
  lethe: number;
  peer: number | null;
  unit: 'tokens/s';
  ratio: number | null;
  lethe_rss_mib: number;
  peer_rss_mib: number | null;
  /** The slowest ONNX Runtime session creation on lethe's side (issue 15: ≤ 20 s). */
  lethe_session_seconds: number;
}

const B = 4;
const T = 128;
const P = 32;
const NEW_TOKENS = 32;

/** The batches both sides read: `n` forget and `n` retain batches of B × T random ids. */
function makeBatches(vocab: number, n: number, loraDropout: number, tiny: boolean, gradientCheckpointing: boolean, bf16State: boolean): ScaleBatches {
  const rng = new Rng(1);
  const t = tiny ? 16 : T;
  const p = tiny ? 4 : P;
  const rows = () => Array.from({ length: n }, () => Array.from({ length: B * t }, () => rng.int(vocab)));
  return { B, T: t, P: p, newTokens: tiny ? 4 : NEW_TOKENS, loraDropout, gradientCheckpointing, ...(bf16State ? { optimizerState: 'bf16' as const } : {}), forget: rows(), retain: rows() };
}

/**
 * Writes (or reuses) the checkpoint and the batches of one case into the suite's temp folder;
 * returns the folder and the arguments both side scripts take.
 */
export function prepareCase(kind: Kind, shape: ScaleShape, dir: string, o: { steps: number; warmup: number; loraDropout: number; tiny: boolean; gradientCheckpointing?: boolean; optimizerState?: 'f32' | 'bf16' }): string[] {
  writeScaleCheckpoint(dir, shape);
  const batchesFile = join(dir, `batches-${kind}.json`);
  writeFileSync(batchesFile, JSON.stringify(makeBatches(shape.vocab, o.warmup + o.steps, o.loraDropout, o.tiny, o.gradientCheckpointing ?? false, o.optimizerState === 'bf16')));
  return [kind, dir, batchesFile, String(o.steps), String(o.warmup)];
}

const caseScript = fileURLToPath(new URL('./scale-case.ts', import.meta.url));
const peerScript = fileURLToPath(new URL('./peers/scale.py', import.meta.url));

function sideEnv(threads: number): NodeJS.ProcessEnv {
  return { ...process.env, LETHE_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
}

/**
 * lethe's side of a prepared case, in a child process, with the malloc setting the `lethe`
 * command starts itself with (bin/lethe.js): the peak measured is the command's.
 */
export function runLetheSide(args: string[], threads: number): SideResult {
  const env = { ...sideEnv(threads), MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? LETHE_MMAP_THRESHOLD };
  return runSide(`bench/scale-case.ts ${args[0]}`, process.execPath, ['--import', 'tsx', caseScript, ...args], env);
}


/** PyTorch's side of a prepared case, with `python` (findTorchPython), in a child process. */
export function runPeerSide(python: string, args: string[], threads: number): SideResult {
  return runSide(`bench/peers/scale.py ${args[0]}`, python, [peerScript, ...args, String(threads)], sideEnv(threads));
}

function runSide(label: string, command: string, args: string[], env: NodeJS.ProcessEnv): SideResult {
  const r = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24, env });
  if (r.error) throw new LetheError(`${label}: could not start: ${r.error.message}`);
  if (r.status !== 0) throw new LetheError(`${label}: exited with ${r.status ?? r.signal} (its stderr is above)`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as SideResult;
  } catch {
    throw new LetheError(`${label}: last stdout line is not JSON: ${JSON.stringify(last.slice(0, 200))}`);
  }
}

const round = (x: number, d: number) => Number(x.toFixed(d));

export async function benchScale(opts: ScaleOptions): Promise<SuiteResult> {
  const chosen = opts.cases?.length ? SCALE_CASES.filter((c) => opts.cases!.includes(c.name)) : SCALE_CASES;
  for (const n of opts.cases ?? []) {
    if (!SCALE_CASES.some((c) => c.name === n)) throw new LetheError(`--case: unknown case "${n}"; known: ${SCALE_CASES.map((c) => c.name).join(', ')}`);
  }
  if (!(Number.isInteger(opts.steps) && opts.steps >= 1 && Number.isInteger(opts.warmup) && opts.warmup >= 1)) {
    throw new LetheError(`--steps and --warmup must be integers ≥ 1 (the first step compiles), got ${opts.steps} and ${opts.warmup}`);
  }
  const dropoutGiven = opts.loraDropout ?? 0.05;
  if (!(Number.isFinite(dropoutGiven) && dropoutGiven >= 0 && dropoutGiven < 1)) throw new LetheError(`--lora-dropout must be a number in [0, 1), got ${opts.loraDropout}`);
  const threads = availableParallelism();
  const python = opts.peer === false ? null : findTorchPython();
  const peerNote = opts.peer === false ? 'PyTorch side not run (asked)' : python === null ? 'PyTorch side skipped: no Python interpreter with torch found (apt-get install python3-torch)' : null;
  if (peerNote) opts.log(peerNote);
  // A folder of its own per run (two runs at once must not share one), or with --keep a fixed one, reused by the next run.
  const root = opts.keep ? join(tmpdir(), 'lethe-bench-scale') : mkdtempSync(join(tmpdir(), 'lethe-bench-scale-'));
  const dropout = opts.loraDropout ?? 0.05;
  const cases: ScaleCaseJson[] = [];
  const rows: string[][] = [];
  let torch = '';
  try {
    for (const c of chosen) {
      const shape = opts.tiny ? TINY : SHAPES[c.shape];
      const dir = join(root, opts.tiny ? 'tiny' : c.shape);
      opts.log(`${c.name}: checkpoint ${dir}`);
      const args = prepareCase(c.kind, shape, dir, { steps: opts.steps, warmup: opts.warmup, loraDropout: dropout, tiny: opts.tiny ?? false, gradientCheckpointing: opts.gradientCheckpointing, optimizerState: opts.optimizerState });
      const load = () => loadavg()[0].toFixed(1);
      opts.log(`${c.name}: lethe side starts (load average ${load()})`);
      const lethe = runLetheSide(args, threads);
      opts.log(`${c.name}: lethe ${lethe.tokens_per_second.toFixed(2)} tokens/s, peak ${lethe.peak_rss_mib.toFixed(0)} MiB, steps ${lethe.step_seconds.map((x) => x.toFixed(2)).join(' ')} s, setup ${lethe.setup_seconds.toFixed(1)} s, slowest session creation ${(lethe.session_seconds ?? 0).toFixed(1)} s (load average ${load()})`);
      const peer = python === null ? null : runPeerSide(python, args, threads);
      if (peer) {
        torch = peer.torch ?? '';
        opts.log(`${c.name}: torch ${peer.tokens_per_second.toFixed(2)} tokens/s, peak ${peer.peak_rss_mib.toFixed(0)} MiB, steps ${peer.step_seconds.map((x) => x.toFixed(2)).join(' ')} s (load average ${load()})`);
      }
      const ratio = peer ? round(lethe.tokens_per_second / peer.tokens_per_second, 3) : null;
      cases.push({
        name: c.name,
        lethe: round(lethe.tokens_per_second, 2),
        peer: peer ? round(peer.tokens_per_second, 2) : null,
        unit: 'tokens/s',
        ratio,
        lethe_rss_mib: Math.round(lethe.peak_rss_mib),
        peer_rss_mib: peer ? Math.round(peer.peak_rss_mib) : null,
        lethe_session_seconds: round(lethe.session_seconds ?? 0, 1),
      });
      const goal = `≤ ${c.goal.rssGb} GB${c.goal.ratio ? `, ≥ ${c.goal.ratio}×` : ''}`;
      rows.push([c.name, lethe.tokens_per_second.toFixed(2), peer ? peer.tokens_per_second.toFixed(2) : 'n/a', ratio === null ? 'n/a' : ratio.toFixed(2), String(Math.round(lethe.peak_rss_mib)), peer ? String(Math.round(peer.peak_rss_mib)) : 'n/a', goal]);
    }
  } finally {
    if (!opts.keep) rmSync(root, { recursive: true, force: true });
  }
  const ratios = cases.map((c) => c.ratio).filter((r): r is number => r !== null);
  const minRatio = ratios.length === cases.length && ratios.length > 0 ? Math.min(...ratios) : null;
  return {
    suite: 'scale',
    table: {
      head: ['case', 'lethe tokens/s', `PyTorch ${torch} tokens/s`, 'ratio', 'lethe peak MiB', 'PyTorch peak MiB', 'goal'],
      rows,
      notes: [
        `${opts.tiny ? 'TINY shapes (smoke run); ' : ''}random BF16 weights, ${threads} threads both sides, ${opts.warmup} warm-up + ${opts.steps} timed steps; batches ${B} × ${opts.tiny ? 16 : T}; LoRA dropout ${dropout}${opts.gradientCheckpointing ? '; gradient checkpointing on both sides' : ''}${opts.optimizerState === 'bf16' ? '; AdamW moments in bf16 (stochastic rounding) on both sides' : ''}`,
        'training tokens/s count the forget and the retain batch of each step; reference log-probs are computed once per forget batch on both sides, before the timed steps',
        ...(peerNote ? [peerNote] : []),
      ],
    },
    json: { suite: 'scale', cases, min_ratio: minRatio, ...(opts.tiny ? { tiny: true } : {}), ...(opts.gradientCheckpointing ? { gradient_checkpointing: true } : {}), ...(opts.optimizerState === 'bf16' ? { optimizer_state: 'bf16' } : {}), ...(peerNote ? { peer_unavailable: peerNote } : {}) },
  };
}
