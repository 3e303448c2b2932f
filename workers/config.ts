import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { MAX_TIMER_MS } from './runtime/max-timer.js';
import { tracingEnvironment } from './tracing/tracing-config.js';

export { MAX_TIMER_MS } from './runtime/max-timer.js';

/**
 * Settings from the environment, validated once at start-up. This module and
 * gateway/config.ts are the only readers of process.env, each for its process kind.
 */
const list = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);
const positive = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
/** A TCP port, in decimal only (Number() would also take 0x1F9C, 1e3 and padding). */
export const port = (fallback: number) =>
  z
    .string()
    .regex(/^[0-9]{1,5}$/, 'a port number, decimal digits only')
    .transform(Number)
    .pipe(z.number().max(65535, 'a port number is at most 65535'))
    .default(fallback);
/** A setting in milliseconds that a timer waits for. */
export const timerMs = (min: number) =>
  z.coerce.number().int().min(min).max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} (2^31-1 ms, the longest timer Node keeps)`);

/** What gateways and workers share. */
export const sharedEnvironment = z
  .object({
    /** Folder of model folders, each with a config.json. */
    MODEL_REPOSITORY: z
      .string()
      .min(1)
      .default('models')
      .transform((path) => resolve(path)),
    /**
     * Triton's --model-control-mode: `explicit` loads at start-up and on the repository load API;
     * `poll` also rescans the repository every MODEL_CONTROL_POLL_MS and loads what changed.
     */
    MODEL_CONTROL: z.enum(['explicit', 'poll']).default('explicit'),
    MODEL_CONTROL_POLL_MS: timerMs(100).default(5000),
    /** Models to load (workers) or serve (gateway), comma-separated; all when unset. */
    LOAD_MODELS: list.optional(),
    /** Cores the model instances may use between them. */
    CPU_COUNT: positive(availableParallelism()),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * Distributed mode when set: gateways queue requests, workers run them. One URL
     * (`single`), or comma-separated sentinel addresses (`sentinel`) or cluster seed nodes (`cluster`).
     */
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\/[^\s,]+(\s*,\s*rediss?:\/\/[^\s,]+)*$/, 'redis:// or rediss:// URLs, comma-separated')
      .optional(),
    REDIS_MODE: z.enum(['single', 'sentinel', 'cluster']).default('single'),
    /** The master group the sentinels watch (sentinel mode). */
    REDIS_SENTINEL_MASTER: z
      .string()
      .regex(/^[\w.-]+$/)
      .optional(),
    /** ACL user and a file holding its password (a mounted Secret); credentials in the URL work too. */
    REDIS_USERNAME: z.string().min(1).optional(),
    REDIS_PASSWORD_FILE: z.string().min(1).optional(),
    /** CA bundle (PEM) that signed the servers' certificates, for rediss:// URLs. */
    REDIS_TLS_CA_FILE: z.string().min(1).optional(),
    /** Prefix of every Redis key Switchyard writes (several deployments can share one Redis). */
    REDIS_PREFIX: z
      .string()
      .regex(/^[\w.-]+$/)
      .default('switchyard'),
    /** On SIGTERM, how long in-flight work may take before the process exits anyway. */
    SHUTDOWN_GRACE_MS: timerMs(0).default(15_000),
    /**
     * What carries jobs between gateways and workers: `bullmq` (BullMQ's Lua scripts) or `streams`
     * (Redis Streams and consumer groups: no script per job; docs/scaling.md). Gateways and workers
     * of one deployment must name the same engine.
     */
    QUEUE_ENGINE: z.enum(['bullmq', 'streams']).default('bullmq'),
    /** Attempts per queued request (transient failures retry with backoff; bad input never does). */
    JOB_ATTEMPTS: positive(3),
    RETRY_BACKOFF_MS: timerMs(1).default(200),
    /** How long a finished job stays in Redis for the fallback lookup... */
    RESULT_RETENTION_SECONDS: positive(60),
    /** ...and how many finished jobs per queue at most (each holds up to a batch of inputs). */
    RESULT_RETENTION_JOBS: positive(100),
    /** Images with more pixels are refused before they are decoded. */
    MAX_IMAGE_PIXELS: positive(40_000_000),
    /** Audio one request may carry, in seconds (all its clips); decoded samples cost seconds x rate x 4 bytes. */
    MAX_AUDIO_SECONDS: positive(600),
    /** Worker liveness: heartbeat period; a worker is gone after three missed beats. */
    HEARTBEAT_MS: timerMs(1).default(1000),
  })
  .extend(tracingEnvironment.shape);

const workerEnvironment = sharedEnvironment.extend({
  WORKER_ID: z
    .string()
    .regex(/^[\w.-]+$/)
    .optional(),
  /** A job whose lock is not renewed for this long is given to another worker. */
  LOCK_DURATION_MS: timerMs(1).default(10_000),
  /** How often workers look for jobs of dead workers. */
  STALLED_INTERVAL_MS: timerMs(1).default(5_000),
  /**
   * Pools this worker serves, comma-separated (a model's pool is its config's `pool`,
   * by default its platform: onnx, tf); all when unset. Runtimes need different CUDA
   * stacks, so each GPU image serves one runtime's pool.
   */
  WORKER_POOLS: list.optional(),
  /** Jobs held at once per model version; by default enough to fill every instance's batch twice. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).optional(),
  /** Port of the worker's Prometheus listener (GET /metrics); 0 turns it off. */
  METRICS_PORT: port(9464),
  /** Its address: loopback by default, like the gateway's HOST; exposing it is a decision. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
});

export type SharedConfig = Readonly<z.output<typeof sharedEnvironment>>;

/** Where Redis is and how to log in, from the REDIS_* settings (files are read here, at start-up). */
export interface RedisTarget {
  readonly mode: 'single' | 'sentinel' | 'cluster';
  /** The server (single), the sentinels, or the cluster's seed nodes. */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  readonly tls?: { readonly ca?: string };
  readonly username?: string;
  readonly password?: string;
  /** Sentinel mode: the sentinels' own credentials, from their URLs. */
  readonly sentinelUsername?: string;
  readonly sentinelPassword?: string;
  readonly sentinelMaster?: string;
  readonly db: number;
}

/** Validates the REDIS_* settings together; undefined in embedded mode (no REDIS_URL). */
export function redisTarget(config: SharedConfig): RedisTarget | undefined {
  if (!config.REDIS_URL) return undefined;
  const fail = (message: string): never => {
    throw new ConfigError(`invalid environment: ${message}`);
  };
  const urls = config.REDIS_URL.split(',').map((text) => {
    try {
      return new URL(text.trim());
    } catch {
      return fail(`REDIS_URL: "${text.trim()}" is not a URL`);
    }
  });
  const mode = config.REDIS_MODE;
  if (mode === 'single' && urls.length !== 1) fail('REDIS_URL: single mode takes one URL (set REDIS_MODE=sentinel or cluster for a list)');
  if (mode === 'sentinel' && !config.REDIS_SENTINEL_MASTER) fail('REDIS_SENTINEL_MASTER: sentinel mode needs the master group name');
  if (mode !== 'sentinel' && config.REDIS_SENTINEL_MASTER) fail('REDIS_SENTINEL_MASTER: only for REDIS_MODE=sentinel');
  if (new Set(urls.map((url) => url.protocol)).size > 1) fail('REDIS_URL: mix of redis:// and rediss://');
  const tls = urls[0]!.protocol === 'rediss:';
  if (config.REDIS_TLS_CA_FILE && !tls) fail('REDIS_TLS_CA_FILE: only for rediss:// URLs');
  const db = Number(urls[0]!.pathname.slice(1) || '0');
  if (!Number.isInteger(db) || db < 0) fail('REDIS_URL: the path is a database number (redis://host:6379/0)');
  if (mode === 'cluster' && db !== 0) fail('REDIS_URL: a cluster has only database 0');
  const read = (name: string, path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      return fail(`${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const first = urls[0]!;
  const fromUrl = { username: decodeURIComponent(first.username) || undefined, password: decodeURIComponent(first.password) || undefined };
  const password = config.REDIS_PASSWORD_FILE ? read('REDIS_PASSWORD_FILE', config.REDIS_PASSWORD_FILE).trim() : undefined;
  // In sentinel mode the URLs name the sentinels, so their credentials are the sentinels'.
  const data: { username?: string; password?: string } = mode === 'sentinel' ? {} : fromUrl;
  return {
    mode,
    nodes: urls.map((url) => ({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || (mode === 'sentinel' ? 26379 : 6379)),
    })),
    ...(tls ? { tls: config.REDIS_TLS_CA_FILE ? { ca: read('REDIS_TLS_CA_FILE', config.REDIS_TLS_CA_FILE) } : {} } : {}),
    ...defined({ username: config.REDIS_USERNAME ?? data.username, password: password ?? data.password }),
    ...(mode === 'sentinel'
      ? defined({ sentinelUsername: fromUrl.username, sentinelPassword: fromUrl.password, sentinelMaster: config.REDIS_SENTINEL_MASTER })
      : {}),
    db,
  };
}

function defined<T extends Record<string, string | undefined>>(fields: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<Record<keyof T, string>>;
}
export type WorkerConfig = Readonly<z.output<typeof workerEnvironment> & { WORKER_ID: string }>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates `environment` against `schema`; empty strings count as unset. */
export function parseEnvironment<T extends z.ZodType>(schema: T, environment: Readonly<Record<string, string | undefined>>): z.output<T> {
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export function parseWorkerConfig(environment: Readonly<Record<string, string | undefined>>): WorkerConfig {
  const parsed = parseEnvironment(workerEnvironment, environment);
  if (!parsed.REDIS_URL) throw new ConfigError('invalid environment: REDIS_URL: a worker needs Redis (REDIS_URL=redis://host:6379)');
  redisTarget(parsed);
  return Object.freeze({ ...parsed, WORKER_ID: parsed.WORKER_ID ?? `${hostname()}-${process.pid}` });
}

/** The model control settings alone, for tools that write into the repository (`npm run quantize`). */
export function modelControlFromEnvironment(): Pick<SharedConfig, 'MODEL_CONTROL' | 'MODEL_CONTROL_POLL_MS'> {
  return parseEnvironment(sharedEnvironment.pick({ MODEL_CONTROL: true, MODEL_CONTROL_POLL_MS: true }), process.env);
}

export function workerConfigFromEnvironment(): WorkerConfig {
  return parseWorkerConfig(process.env);
}
