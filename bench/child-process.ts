import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVING_NODE_FLAGS } from '../workers/runtime/serving-node-flags.js';

/** A node process the bench started: its output kept, its end awaited, never left behind. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  /** The last few KB the child wrote to stdout and stderr. */
  output(): string;
  hasExited(): boolean;
  /** Resolves with how it ended ("code 0", "signal SIGKILL"). */
  readonly exited: Promise<string>;
  /** SIGTERM, then SIGKILL if it has not exited in 5 s. */
  stop(): Promise<void>;
}

export interface ChildOptions {
  readonly name: string;
  /** A JavaScript file run with this node binary. */
  readonly script: string;
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string>>;
}

const OUTPUT_LIMIT = 8192;
const live = new Set<ChildProcess>();
let cleanupInstalled = false;

/** Whatever way the bench ends, no child is left holding a port, a queue or the CPU. */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}, stopping child processes`);
      process.exit(130); // the 'exit' hook above kills them
    });
  }
}

export function spawnChild(options: ChildOptions): Child {
  installCleanup();
  // stdin stays a pipe: the bench's own servers exit when it closes, i.e. when the bench dies.
  // Started as `npm start` and the images start them, so the figures are the shipped process's.
  const child = spawn(process.execPath, [...SERVING_NODE_FLAGS, options.script], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${options.name} could not be started`);
  live.add(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let hasExited = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      hasExited = true;
      resolve(signal ? `signal ${signal}` : `code ${code}`);
    });
  });
  const stop = async (): Promise<void> => {
    if (hasExited) return;
    child.kill('SIGTERM');
    const outcome = await Promise.race([exited, sleep(5000, 'timeout')]);
    if (outcome === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return { name: options.name, pid: child.pid, output: () => output, hasExited: () => hasExited, exited, stop };
}

/**
 * Polls `check` every 100 ms until it holds; throws (after stopping `owner`) when any
 * of `watched` exits first or the timeout passes, with that child's output.
 */
export async function waitUntilReady(
  check: () => Promise<boolean>,
  owner: Child,
  watched: readonly Child[],
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    const dead = watched.find((child) => child.hasExited());
    if (dead) {
      await owner.stop();
      throw new Error(`${dead.name} exited (${await dead.exited}) before ${what}:\n${dead.output()}`);
    }
    if (Date.now() > deadline) {
      await owner.stop();
      throw new Error(
        `${what} did not happen within ${timeoutMs} ms:\n${watched.map((child) => `--- ${child.name}\n${child.output()}`).join('\n')}`,
      );
    }
    await sleep(100);
  }
}
