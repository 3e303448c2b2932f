import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';

/**
 * Distributed-mode tests need Redis at REDIS_URL (default 127.0.0.1:6379). If nothing
 * answers there, start a local redis-server for the run, or stop with how to get one.
 */
function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.connect(port, host);
  });
}

let started: ChildProcess | undefined;

export async function setup(): Promise<void> {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const port = Number(url.port || 6379);
  if (await answers(url.hostname, port)) return;
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(`No Redis answers at ${url.host} and redis-server is not installed. Install it (apt-get install redis-server) or set REDIS_URL.`);
  }
  started = spawn('redis-server', ['--port', String(port), '--bind', url.hostname, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i += 1) {
    if (await answers(url.hostname, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`started redis-server on port ${port}, but it does not answer`);
}

export async function teardown(): Promise<void> {
  started?.kill('SIGTERM');
}
