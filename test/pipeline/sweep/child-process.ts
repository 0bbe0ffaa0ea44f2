// Starting and stopping the sweep test's child processes (sweep-child.ts through tsx).

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./sweep-child.ts', import.meta.url));

export interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<unknown>;
}

export function startChild(args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { process: child, output: () => out, exited: once(child, 'exit') };
}

/** Polls `check` every `everyMs` until it returns a value (not undefined); fails after `limitMs` with `what`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, limitMs = 60_000, everyMs = 50): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
