import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ChildServer {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  /** The last few KB the child wrote to stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited in 5 s. */
  stop(): Promise<void>;
}

export interface ChildServerOptions {
  readonly name: string;
  /** A JavaScript file run with this node binary. */
  readonly script: string;
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string>>;
  /** GET path that answers 200 once the server can take load. */
  readonly readyPath: string;
  readonly readyTimeoutMs?: number;
}

const OUTPUT_LIMIT = 8192;
const live = new Set<ChildProcess>();
let cleanupInstalled = false;

/** Whatever way the bench ends, no server is left holding a port or the CPU. */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}, stopping child servers`);
      process.exit(130); // the 'exit' hook above kills them
    });
  }
}

/** A port nobody listens on right now (the OS picks it; the child binds it just after). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  installCleanup();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // stdin stays a pipe: the bench's own servers exit when it closes, i.e. when the bench dies.
  const child = spawn(process.execPath, [options.script], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(signal ? `signal ${signal}` : `code ${code}`);
    });
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const stop = async (): Promise<void> => {
    if (hasExited) return;
    child.kill('SIGTERM');
    const outcome = await Promise.race([exited, sleep(5000, 'timeout')]);
    if (outcome === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  while (!(await isReady(url + options.readyPath))) {
    if (hasExited) throw new Error(`${options.name} exited (${await exited}) before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.name} was not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${output}`);
    }
    await sleep(100);
  }
  if (child.pid === undefined) throw new Error(`${options.name} has no pid`);
  return { name: options.name, pid: child.pid, url, output: () => output, stop };
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Runs `use` against a fresh child server and stops the child whatever happens. */
export async function withChildServer<T>(options: ChildServerOptions, use: (server: ChildServer) => Promise<T>): Promise<T> {
  const server = await startChildServer(options);
  try {
    return await use(server);
  } finally {
    await server.stop();
  }
}
