import { resolve } from 'node:path';
import { spawnChild } from './child-process.js';
import { startChildServer } from './child-server.js';
import { MODEL_NAME, REPO_ROOT, settings } from './settings.js';

/** Distributed mode on this machine: one gateway process, one worker process, a shared Redis. */
export interface Distributed {
  readonly url: string;
  readonly gatewayPid: number;
  readonly workerPid: number;
  /** What each process logged (LOG_LEVEL=warn, so empty is good). */
  logs(): { gateway: string; worker: string };
}

export interface DistributedOptions {
  readonly redisUrl: string;
  /** A prefix of this run's own; the caller deletes its keys afterwards. */
  readonly prefix: string;
  /** Extra settings for both processes (RESULT_RETENTION_SECONDS, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** The build both processes run (default `dist`): another, to compare two builds' stacks. */
  readonly dist?: string;
}

/** The environment both processes read; the worker gets the same cores as the embedded gateway. */
export function distributedEnv(options: DistributedOptions): Record<string, string> {
  return {
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.prefix,
    LOAD_MODELS: MODEL_NAME,
    LOG_LEVEL: 'warn',
    CPU_COUNT: String(settings.cpuCount),
    MODEL_REPOSITORY: resolve(REPO_ROOT, 'models'),
    ...options.env,
  };
}

/**
 * Starts the worker, then the gateway, and runs `use` once the gateway says a live
 * worker has the model warm (its /ready follows the heartbeats). Stops the gateway
 * first (it drains its requests), then the worker, whatever happens.
 */
export async function withDistributed<T>(options: DistributedOptions, use: (d: Distributed) => Promise<T>): Promise<T> {
  const env = distributedEnv(options);
  const worker = spawnChild({
    name: 'worker',
    script: resolve(REPO_ROOT, options.dist ?? 'dist', 'workers', 'main.js'),
    cwd: REPO_ROOT,
    env,
  });
  try {
    const gateway = await startChildServer({
      name: 'distributed gateway',
      script: resolve(REPO_ROOT, options.dist ?? 'dist', 'gateway', 'server.js'),
      cwd: REPO_ROOT,
      env,
      readyPath: `/v2/models/${MODEL_NAME}/ready`,
      readyTimeoutMs: 120_000,
      alsoWatch: [worker],
    });
    try {
      return await use({
        url: gateway.url,
        gatewayPid: gateway.pid,
        workerPid: worker.pid,
        logs: () => ({ gateway: gateway.output(), worker: worker.output() }),
      });
    } finally {
      await gateway.stop();
    }
  } finally {
    await worker.stop();
  }
}
