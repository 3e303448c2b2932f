import { once } from 'node:events';
import { createServer } from 'node:net';
import { spawnChild, waitUntilReady, type Child, type ChildOptions } from './child-process.js';

export interface ChildServer {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  /** The last few KB the child wrote to stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited in 5 s. */
  stop(): Promise<void>;
}

export interface ChildServerOptions extends ChildOptions {
  /** GET path that answers 200 once the server can take load. */
  readonly readyPath: string;
  readonly readyTimeoutMs?: number;
  /** Other children the server depends on (a worker): if one exits first, give up at once. */
  readonly alsoWatch?: readonly Child[];
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
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnChild({ ...options, env: { GRPC_PORT: '0', ...options.env, HOST: '127.0.0.1', PORT: String(port) } });
  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  await waitUntilReady(
    () => isReady(url + options.readyPath),
    child,
    [child, ...(options.alsoWatch ?? [])],
    timeoutMs,
    `${options.name} was ready`,
  );
  return { name: options.name, pid: child.pid, url, output: child.output, stop: child.stop };
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
