// Progress of a training run, fed by the loop's `onProgress`: a cli-progress bar (steps, loss,
// tokens/s, ETA) on a terminal; plain lines, about twenty per run plus every evaluation, when the
// output is a file or a pipe or `CI` is set, so logs hold no control characters.

import cliProgress from 'cli-progress';
import type { CompileEvent } from '../engine/program.ts';
import type { ProgressDisplay } from '../pipeline/progress.ts';
import type { Progress } from '../unlearn/loop.ts';

export type { ProgressDisplay };

export interface ProgressOptions {
  /** Default process.stdout. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Plain lines instead of a bar; default: the stream is not a terminal or CI is set. */
  plain?: boolean;
}

/** h:mm:ss, or m:ss under an hour. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

const fmt = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toFixed(4)) : String(x));

/** One line describing a progress event (the plain display's line, the bar's payload). */
export function progressLine(label: string, p: Progress): string {
  const losses = Object.entries(p.values)
    .filter(([k]) => k !== 'loss' && k !== 'gradNorm' && k.endsWith('Loss'))
    .map(([k, v]) => ` ${k} ${fmt(v)}`)
    .join('');
  const evaluation = p.eval ? ` | eval ${Object.entries(p.eval.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join(' ')}` : '';
  return `${label} step ${p.step}/${p.steps} loss ${fmt(p.loss)}${losses} lr ${p.lr.toExponential(2)} ${Math.round(p.tokensPerSecond)} tok/s eta ${formatDuration(p.etaSeconds)}${evaluation}`;
}

export function progressDisplay(label: string, options: ProgressOptions = {}): ProgressDisplay {
  const stream = options.stream ?? process.stdout;
  const plain = options.plain ?? (!stream.isTTY || Boolean(process.env.CI));
  if (plain) {
    return {
      update(p) {
        const every = Math.max(1, Math.ceil(p.steps / 20));
        if (p.step % every === 0 || p.step === p.steps || p.eval) stream.write(progressLine(label, p) + '\n');
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar({
    stream,
    format: `${label} {bar} {value}/{total} | loss {loss} | {tps} tok/s | ETA {remaining}`,
    hideCursor: true,
    barsize: 24,
    fps: 5,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(p) {
      const payload = { loss: fmt(p.loss), tps: Math.round(p.tokensPerSecond), remaining: formatDuration(p.etaSeconds) }; // not {eta}: cli-progress fills that itself
      if (!started) {
        bar.start(p.steps, p.step, payload);
        started = true;
      } else bar.update(p.step, payload);
      // An evaluation is worth keeping on screen: print it above the bar.
      if (p.eval) {
        bar.stop();
        stream.write(progressLine(label, p) + '\n');
        started = false;
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** Bytes as people read them: 512 B, 1.2 kB, 3.4 MB, 2.0 GB (powers of 1000, as the Hub shows sizes). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/**
 * The download progress of a Hub model (`spec`), fed by the Hub client's onProgress: a bar per
 * file on a terminal; otherwise one line per file when it is complete. On stderr by default,
 * so a command's own output (generate's completions) stays clean.
 */
export function downloadDisplay(spec: string, options: ProgressOptions = {}): (p: { file: string; bytes: number; total: number }) => void {
  const stream = options.stream ?? process.stderr;
  const plain = options.plain ?? (!stream.isTTY || Boolean(process.env.CI));
  let bar: cliProgress.SingleBar | null = null;
  let current: string | null = null;
  return ({ file, bytes, total }) => {
    if (plain) {
      if (bytes >= total && current !== file) {
        current = file;
        stream.write(`lethe: downloaded ${spec} ${file} (${formatBytes(total)})\n`);
      }
      return;
    }
    if (current !== file) {
      bar?.stop();
      current = file;
      bar = new cliProgress.SingleBar({ stream, format: `downloading ${spec} ${file} {bar} {percentage}% of ${formatBytes(total)} | ETA {eta_formatted}`, hideCursor: true, barsize: 24, fps: 5 }, cliProgress.Presets.shades_classic);
      bar.start(Math.max(1, total), bytes);
    } else bar?.update(bytes);
    if (bytes >= total) {
      bar?.stop();
      bar = null;
    }
  };
}

/**
 * Lines while ONNX Runtime creates a session (a 1B model's training step takes tens of seconds):
 * "lethe unlearn: compiling the training step (ONNX Runtime)…" when it starts, and the seconds it
 * took when it ends (from half a second on). Register with engine/program.ts onCompile.
 */
export function compileDisplay(prefix: string, stream: NodeJS.WritableStream = process.stdout): (e: CompileEvent) => void {
  // A program is compiled once per batch shape (length bucket): later ones say so, not the same line again.
  const started = new Map<string, number>();
  return (e) => {
    const n = started.get(e.label) ?? 0;
    const what = n > (e.done ? 1 : 0) ? `${e.label} for another batch shape` : e.label;
    if (!e.done) {
      started.set(e.label, n + 1);
      stream.write(`${prefix}: compiling ${what} (ONNX Runtime)…\n`);
    } else if (e.seconds >= 0.5) stream.write(`${prefix}: compiled ${what} in ${e.seconds.toFixed(1)} s\n`);
  };
}
