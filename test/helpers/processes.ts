import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort } from './redis.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface Spawned {
  readonly process: ChildProcess;
  readonly output: () => string;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

function start(script: string, env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [resolve(ROOT, script)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? -1)));
  return { process: child, output: () => output, exited, kill: (signal = 'SIGKILL') => void child.kill(signal) };
}

async function until(check: () => boolean | Promise<boolean>, what: string, spawned: Spawned, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (spawned.process.exitCode !== null) throw new Error(`${what}: process exited early:\n${spawned.output()}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not ready within ${timeoutMs} ms:\n${spawned.output()}`);
}

/** A worker process returned at once, while it still loads, for tests of what it says meanwhile. */
export function launchWorker(env: Record<string, string>): Spawned {
  return start('dist/workers/main.js', env);
}

/** A worker process (the compiled build, as `npm run worker` runs it), resolved once it consumes. */
export async function spawnWorker(env: Record<string, string>): Promise<Spawned> {
  const worker = launchWorker(env);
  await until(() => worker.output().includes('"worker ready"'), 'worker', worker);
  return worker;
}

/** A gateway process returned at once, for tests of what it says while it cannot start. */
export function launchGateway(env: Record<string, string>): Spawned {
  return start('dist/gateway/server.js', { PORT: '0', GRPC_PORT: '0', ...env });
}

/** A gateway process, resolved once it listens; `url` is its base URL. */
export async function spawnGateway(env: Record<string, string>): Promise<Spawned & { url: string }> {
  const port = await freePort();
  const gateway = start('dist/gateway/server.js', { PORT: String(port), GRPC_PORT: '0', ...env });
  const url = `http://127.0.0.1:${port}`;
  await until(
    async () =>
      await fetch(`${url}/v2/health/live`).then(
        (r) => r.ok,
        () => false,
      ),
    'gateway',
    gateway,
  );
  return Object.assign(gateway, { url });
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not met within ${timeoutMs} ms`);
}
