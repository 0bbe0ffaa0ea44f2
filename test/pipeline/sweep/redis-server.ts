// A private Redis for a test: redis-server on a free loopback port, no persistence
// (--save '' --appendonly no), stopped by the test. Without redis-server the test is skipped with
// a message, except under CI=true where it fails (CI installs it: .ci/run).

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import type { TestContext } from 'node:test';

export interface RedisServer {
  url: string;
  stop: () => Promise<void>;
}

function redisBinary(): string | null {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : null;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.on('error', () => resolve(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      resolve(d.toString().startsWith('+PONG'));
      socket.destroy();
    });
  });
}

/** Starts redis-server, or skips the test (returns null) when it is not installed and CI is not set. */
export async function startRedis(t: TestContext): Promise<RedisServer | null> {
  const bin = redisBinary();
  if (!bin) {
    if (process.env.CI === 'true') throw new Error('redis-server is not installed (CI=true: .ci/run installs Debian\'s redis-server)');
    t.skip('redis-server is not installed: install Debian\'s redis-server to run the distributed sweep tests');
    return null;
  }
  const port = await freePort();
  const server = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  const exited = once(server, 'exit');
  for (let i = 0; i < 200 && !(await answersPing(port)); i++) await new Promise((r) => setTimeout(r, 25));
  if (!(await answersPing(port))) {
    server.kill('SIGKILL');
    throw new Error(`redis-server did not start on port ${port}`);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (server.exitCode === null) server.kill('SIGTERM');
      await exited;
    },
  };
}
