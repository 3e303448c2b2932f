import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Socket } from 'node:net';

/**
 * redis-server processes on loopback for the Cluster and Sentinel tests, without
 * persistence, in a temporary folder of their own. Ports 7100-7199 are reserved for them.
 */
export class RedisProcess {
  #process: ChildProcess | undefined;
  /** `ready`: how to tell it answers (by default PING over plain TCP on `port`). */
  constructor(
    readonly port: number,
    readonly args: readonly string[],
    readonly cwd: string,
    private readonly ready: () => Promise<boolean> = () => answersPing(port),
  ) {}

  async start(): Promise<void> {
    this.#process = spawn('redis-server', [...this.args], { cwd: this.cwd, stdio: 'ignore' });
    // Up to 15 s: on a loaded 2-core machine redis-server can take seconds to answer.
    for (let i = 0; i < 300; i += 1) {
      if (await this.ready()) return;
      if (this.#process.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server ${this.args.join(' ')} did not start on port ${this.port}`);
  }

  get running(): boolean {
    return this.#process !== undefined && this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** Sends a signal without waiting for the process to exit (SIGSTOP: a server that stops answering, sockets open). */
  signal(signal: NodeJS.Signals): void {
    this.#process?.kill(signal);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.#process;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  }
}

/** A temporary folder for one group of servers (config files, cluster state). */
export function serverFolder(name: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `sy-${name}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every server flag the tests share: loopback, no persistence, no eviction. */
export function baseArgs(port: number): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'];
}

/** Runs redis-cli; throws with its output when it fails. */
export function redisCli(args: readonly string[]): string {
  const result = spawnSync('redis-cli', [...args], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

export async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** True when something on the port answers PING with PONG. */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}
