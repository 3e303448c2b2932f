import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Every setting Switchyard reads from the environment, validated once at start-up.
 * This is the only module that reads process.env.
 */
const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

const environmentSchema = z.object({
  /** Address to listen on. Loopback by default: exposing it is a decision. */
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Folder of model folders, each with a config.json. */
  MODEL_REPOSITORY: z.string().min(1).default('models'),
  /** Load only these models at start-up (comma-separated); all when unset. */
  LOAD_MODELS: list.optional(),
  /** Largest request body, JSON or binary. */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
  /** Cores the model instances may use between them. */
  CPU_COUNT: z.coerce.number().int().min(1).default(availableParallelism()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** On SIGTERM, how long in-flight requests may take before the process exits anyway. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(15_000),
});

export type SwitchyardConfig = Readonly<z.output<typeof environmentSchema>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseConfig(environment: Readonly<Record<string, string | undefined>>): SwitchyardConfig {
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  return Object.freeze({ ...parsed.data, MODEL_REPOSITORY: resolve(parsed.data.MODEL_REPOSITORY) });
}

export function configFromEnvironment(): SwitchyardConfig {
  return parseConfig(process.env);
}
