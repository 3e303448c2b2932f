import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Settings from the environment, validated once at start-up. This module and
 * gateway/config.ts are the only readers of process.env, each for its process kind.
 */
const list = z.string().transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));
const positive = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/** What gateways and workers share. */
export const sharedEnvironment = z.object({
  /** Folder of model folders, each with a config.json. */
  MODEL_REPOSITORY: z.string().min(1).default('models').transform((path) => resolve(path)),
  /** Models to load (workers) or serve (gateway), comma-separated; all when unset. */
  LOAD_MODELS: list.optional(),
  /** Cores the model instances may use between them. */
  CPU_COUNT: positive(availableParallelism()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Distributed mode when set: gateways queue requests, workers run them. */
  REDIS_URL: z.string().url().optional(),
  /** Prefix of every Redis key Switchyard writes (several deployments can share one Redis). */
  REDIS_PREFIX: z.string().regex(/^[\w.-]+$/).default('switchyard'),
  /** On SIGTERM, how long in-flight work may take before the process exits anyway. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(15_000),
  /** Attempts per queued request (transient failures retry with backoff; bad input never does). */
  JOB_ATTEMPTS: positive(3),
  RETRY_BACKOFF_MS: positive(200),
  /** How long a finished job stays in Redis for the fallback lookup... */
  RESULT_RETENTION_SECONDS: positive(60),
  /** ...and how many finished jobs per queue at most (each holds up to a batch of inputs). */
  RESULT_RETENTION_JOBS: positive(100),
  /** Images with more pixels are refused before they are decoded. */
  MAX_IMAGE_PIXELS: positive(40_000_000),
  /** Audio one request may carry, in seconds (all its clips); decoded samples cost seconds x rate x 4 bytes. */
  MAX_AUDIO_SECONDS: positive(600),
  /** Worker liveness: heartbeat period; a worker is gone after three missed beats. */
  HEARTBEAT_MS: positive(1000),
});

const workerEnvironment = sharedEnvironment.extend({
  WORKER_ID: z.string().regex(/^[\w.-]+$/).optional(),
  /** A job whose lock is not renewed for this long is given to another worker. */
  LOCK_DURATION_MS: positive(10_000),
  /** How often workers look for jobs of dead workers. */
  STALLED_INTERVAL_MS: positive(5_000),
  /**
   * Pools this worker serves, comma-separated (a model's pool is its config's `pool`,
   * by default its platform: onnx, tf); all when unset. Runtimes need different CUDA
   * stacks, so each GPU image serves one runtime's pool.
   */
  WORKER_POOLS: list.optional(),
  /** Jobs held at once per model version; by default enough to fill every instance's batch twice. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).optional(),
  /** Port of the worker's Prometheus listener (GET /metrics); 0 turns it off. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** Its address: loopback by default, like the gateway's HOST; exposing it is a decision. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
});

export type SharedConfig = Readonly<z.output<typeof sharedEnvironment>>;
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
  return Object.freeze({ ...parsed, WORKER_ID: parsed.WORKER_ID ?? `${hostname()}-${process.pid}` });
}

export function workerConfigFromEnvironment(): WorkerConfig {
  return parseWorkerConfig(process.env);
}
