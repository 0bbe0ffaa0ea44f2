// Runs a PyTorch peer script (bench/peers/*.py) for the benchmark runner. PyTorch comes from
// Debian's python3-torch, which the first `python3` on PATH may not see, so the interpreter is
// the first candidate whose `import torch` works.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../src/engine/errors.ts';

const candidates = ['python3', '/usr/bin/python3'];
const peersDir = fileURLToPath(new URL('./peers/', import.meta.url));

/** The first Python interpreter that can import torch, or null when none can. */
export function findTorchPython(): string | null {
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (probe.status === 0) return python;
  }
  return null;
}

/**
 * Runs `bench/peers/<script>` with `args` and returns the JSON object on its last stdout line.
 * Thread counts default to every core (the peer's own `--threads` flag may still override).
 * Its stderr (progress, human-readable results) goes straight to ours.
 */
export function runPeer(script: string, args: string[]): unknown {
  const python = findTorchPython();
  if (python === null) {
    throw new LetheError(
      `bench/peers/${script}: no Python interpreter with PyTorch found (tried ${candidates.join(', ')}); ` +
        'install it with `apt-get install python3-torch libopenblas0-pthread`',
    );
  }
  const cores = String(availableParallelism());
  const env = {
    ...process.env,
    OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? cores,
    MKL_NUM_THREADS: process.env.MKL_NUM_THREADS ?? cores,
  };
  const run = spawnSync(python, [peersDir + script, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw new LetheError(`bench/peers/${script}: could not run ${python}: ${run.error.message}`);
  if (run.status !== 0) {
    throw new LetheError(`bench/peers/${script}: exited with ${run.status ?? run.signal} (its stderr is above)`);
  }
  const lines = run.stdout.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  try {
    return JSON.parse(last) as unknown;
  } catch {
    throw new LetheError(`bench/peers/${script}: last stdout line is not JSON: ${JSON.stringify(last.slice(0, 200))}`);
  }
}
