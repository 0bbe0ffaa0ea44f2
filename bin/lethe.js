#!/usr/bin/env node
// The `lethe` command. In a checkout (src/ and tsx present) it runs the TypeScript sources
// through tsx, so an edit shows at once; an installed package runs the compiled dist/.
//
// On Linux with glibc the command first starts itself again with MALLOC_MMAP_THRESHOLD_ set.
// glibc's malloc raises its mmap threshold each time a large block is freed; after that, ONNX
// Runtime's tensors below 32 MiB come from the heap, which fragments and keeps what was freed.
// With the threshold fixed at 128 KiB they are mapped and unmapped: peak memory measured 16%
// lower on Llama-3.2-1B-shaped scoring and 25% lower on its LoRA NPO step (README, "Memory"), and
// no longer varies run to run. glibc reads the setting only when a process starts, hence the
// second process. LETHE_MALLOC=default (or MALLOC_MMAP_THRESHOLD_ set by you) skips it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const THRESHOLD = '131072'; // src/io/memory.ts LETHE_MMAP_THRESHOLD (the estimate and the bench use it)
const glibc = process.platform === 'linux' && Boolean(process.report?.getReport().header.glibcVersionRuntime);
if (glibc && process.env.MALLOC_MMAP_THRESHOLD_ === undefined && process.env.LETHE_MALLOC !== 'default') {
  relaunch();
} else {
  watchParent();
  await run();
}

/**
 * Runs this command again in a child with the malloc setting and becomes its shadow: the child
 * is in its own process group, so a signal reaches it once, from here (Ctrl-C included); its
 * exit code or signal becomes this process's; and if this process is killed outright, the
 * child sees its pipe close and ends the same way (watchParent).
 */
function relaunch() {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: THRESHOLD, LETHE_PARENT_PIPE: '3' },
    detached: true,
  });
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const pass = (s) => child.kill(s);
  for (const s of signals) process.on(s, pass);
  // Job control (Ctrl-Z, then fg/bg): the child is in its own process group, so the terminal's
  // stop reaches only this process; stop the child, then this process; continue both.
  const stop = () => {
    child.kill('SIGSTOP');
    process.kill(process.pid, 'SIGSTOP');
  };
  const resume = () => child.kill('SIGCONT');
  process.on('SIGTSTP', stop);
  process.on('SIGCONT', resume);
  child.on('error', (err) => {
    process.stderr.write(`lethe: could not start: ${err.message}\n`);
    process.exitCode = 2;
  });
  child.on('exit', (code, signal) => {
    for (const s of signals) process.off(s, pass);
    process.off('SIGTSTP', stop);
    process.off('SIGCONT', resume);
    if (signal) process.kill(process.pid, signal);
    else process.exitCode = code ?? 1;
  });
}

/** In the relaunched child: when the parent's pipe closes (the parent was killed), end as it did. */
function watchParent() {
  if (process.env.LETHE_PARENT_PIPE !== '3') return;
  delete process.env.LETHE_PARENT_PIPE; // not passed on to the processes this one starts
  globalThis.letheCommandPid = process.ppid; // the pid run locks name (src/io/run-lock.ts)
  import('node:net').then(({ Socket }) => {
    const pipe = new Socket({ fd: 3, readable: true, writable: false });
    pipe.on('error', () => {});
    pipe.on('close', () => process.kill(process.pid, 'SIGKILL'));
    pipe.resume();
    pipe.unref();
  });
}

async function run() {
  const source = new URL('../src/cli/main.ts', import.meta.url);
  const compiled = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
  let tsx = null;
  if (existsSync(source)) {
    try {
      tsx = await import('tsx/esm/api');
    } catch {
      tsx = null; // no dev dependencies: use the build
    }
  }
  if (tsx) {
    tsx.register();
    await import(source.href);
  } else if (existsSync(compiled)) {
    await import(pathToFileURL(compiled).href);
  } else {
    process.stderr.write('lethe: no build found (dist/src/cli/main.js); run `npm run build`\n');
    process.exitCode = 2;
  }
}
