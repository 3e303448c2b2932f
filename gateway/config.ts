import { totalmem } from 'node:os';
import { z } from 'zod';
import { ConfigError, MAX_TIMER_MS, parseEnvironment, port, redisTarget, sharedEnvironment, timerMs } from '../workers/config.js';
import { loadPolicy, type Policy } from './policy/policy-config.js';
import { readTlsFiles, tlsFiles } from './tls/tls-files.js';
import { trustProxySchema } from './http/trust-proxy.js';

export { ConfigError } from '../workers/config.js';

/**
 * The gateway's settings: the shared ones plus HTTP. Only this module and
 * workers/config.ts read process.env.
 */
const gatewayEnvironment = sharedEnvironment.extend({
  /** Address to listen on. Loopback by default: exposing it is a decision. */
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port(8080),
  /** Largest request body, JSON or binary. */
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  /** The gRPC front end (KServe v2 / Triton GRPCInferenceService); 8001 as Triton's, 0 = off. */
  GRPC_PORT: port(8001),
  /** Address the gRPC front end listens on; HOST when unset. */
  GRPC_HOST: z.string().min(1).optional(),
  /**
   * Request bytes held at once over every request and both front ends (bodies over 64 KiB,
   * gRPC messages); a body past it is 503 server_busy. Unset: a thirty-second of the memory the
   * process may use (its cgroup limit, else the machine's), at least the largest message.
   */
  BODY_MEMORY_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .optional(),
  /** Largest gRPC message received or sent; MAX_BODY_BYTES when unset. */
  GRPC_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024).optional(),
  /** Calls one gRPC connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); a client queues the rest. */
  GRPC_MAX_CONCURRENT_STREAMS: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /** Connections each front end (HTTP, gRPC) holds at once; past it a new one is closed as it opens. */
  MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(4096),
  /** Failed authentications (wrong keys) one client address may make per window before it is refused with 429. */
  AUTH_FAILURE_LIMIT: z.coerce.number().int().min(1).default(20),
  AUTH_FAILURE_WINDOW_MS: timerMs(1000).default(60_000),
  /**
   * Proxies whose X-Forwarded-For is believed for the client address (the auth-failure limit):
   * unset = none (the socket's address); a number = that many hops; otherwise addresses and CIDRs, comma-separated.
   */
  TRUST_PROXY: trustProxySchema,
  /** The policy file (YAML or JSON): tenants, keys, limits, budgets, routes. */
  SWITCHYARD_CONFIG: z.string().min(1).optional(),
  /** Audit records are also appended here as JSON lines (the durable copy in embedded mode). */
  AUDIT_LOG_FILE: z.string().min(1).optional(),
  /** Tasks (and their events) are kept this long after they are created. */
  TASK_RETENTION_HOURS: z.coerce.number().min(0.01).default(24),
  /**
   * `on`: a request whose caller left (closed connection, gRPC cancel or deadline) leaves the
   * batcher's queue or its job unrun. `off` runs it anyway, its answer dropped (the behaviour
   * before cancellation reached the queues; the cancellation bench compares the two).
   */
  CANCEL_ABANDONED: z.enum(['on', 'off']).default('on'),
  /**
   * Bytes of decoded images the gateway's tasks hold at once (OCR keeps each page decoded,
   * 3 bytes a pixel, until its task ends); further decodes wait their turn. One image larger
   * than this still runs, alone.
   */
  DECODED_IMAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .default(512 * 1024 * 1024),
  /** Asynchronous tasks one gateway runs at once. */
  TASK_CONCURRENCY: z.coerce.number().int().min(1).default(8),
  /** Most items one `POST /v1/tasks/{pipeline}:batch` may carry. */
  TASK_BATCH_MAX_ITEMS: z.coerce.number().int().min(1).max(1000).default(64),
  /** Batch items one gateway holds at once (running or waiting on models); a batch that would exceed it gets 503 tasks_busy. */
  TASK_BATCH_MAX_PENDING: z.coerce.number().int().min(1).default(256),
  /** Distributed mode: a task whose gateway stops renewing its lock this long is run by another gateway. */
  TASK_LOCK_DURATION_MS: timerMs(1000).default(30_000),
  TASK_STALLED_INTERVAL_MS: timerMs(1000).default(15_000),
  /** Signs callbacks when no tenants are configured (tenants each have their own callback_secret). */
  CALLBACK_SECRET: z.string().min(16).optional(),
  /** Deliveries of a task's callback before it is marked failed; retries back off exponentially from CALLBACK_BACKOFF_MS. */
  CALLBACK_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  CALLBACK_BACKOFF_MS: timerMs(1).default(1000),
  CALLBACK_TIMEOUT_MS: timerMs(100).default(10_000),
  /**
   * Callback connections one gateway opens at once (every task's, whatever its mode); 16 times
   * as many deliveries may wait for one or for their next attempt, and a callback past that fails at once.
   */
  CALLBACK_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(64),
  /** HTTPS on the listener: PEM certificate (chain) and key. Both or neither. */
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  /** Client certificates signed by this CA are required (mTLS); needs TLS_CERT_FILE and TLS_KEY_FILE. */
  TLS_CA_FILE: z.string().min(1).optional(),
  /** How often the TLS files are re-read; changed files (a rotation) are served to new connections without a restart. */
  TLS_RELOAD_INTERVAL_MS: timerMs(10).default(10_000),
});

export type SwitchyardConfig = Readonly<
  Omit<z.output<typeof gatewayEnvironment>, 'GRPC_HOST' | 'GRPC_MAX_MESSAGE_BYTES' | 'BODY_MEMORY_BYTES'> & {
    GRPC_HOST: string;
    GRPC_MAX_MESSAGE_BYTES: number;
    BODY_MEMORY_BYTES: number;
    policy: Policy;
  }
>;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function parseConfig(environment: Readonly<Record<string, string | undefined>>): SwitchyardConfig {
  const parsed = parseEnvironment(gatewayEnvironment, environment);
  if (Boolean(parsed.TLS_CERT_FILE) !== Boolean(parsed.TLS_KEY_FILE))
    throw new ConfigError('invalid environment: TLS_CERT_FILE and TLS_KEY_FILE go together');
  if (parsed.TLS_CA_FILE && !parsed.TLS_CERT_FILE) {
    throw new ConfigError('invalid environment: TLS_CA_FILE (client certificates) needs TLS_CERT_FILE and TLS_KEY_FILE');
  }
  // Retries wait CALLBACK_BACKOFF_MS, doubling each time: the last wait is a timer too.
  const longestBackoff = parsed.CALLBACK_BACKOFF_MS * 2 ** Math.max(0, parsed.CALLBACK_ATTEMPTS - 2);
  if (longestBackoff > MAX_TIMER_MS) {
    throw new ConfigError(
      `invalid environment: CALLBACK_BACKOFF_MS: ${parsed.CALLBACK_BACKOFF_MS} doubled over CALLBACK_ATTEMPTS ${parsed.CALLBACK_ATTEMPTS} waits ${longestBackoff} ms before the last attempt; at most ${MAX_TIMER_MS} (2^31-1 ms, the longest timer Node keeps)`,
    );
  }
  const tls = tlsFiles(parsed);
  if (tls) {
    try {
      readTlsFiles(tls);
    } catch (error) {
      throw new ConfigError(`invalid TLS files: ${(error as Error).message}`);
    }
  }
  redisTarget(parsed);
  // Keys given as `env` in the policy file are read from the same environment.
  const policy = loadPolicy(parsed.SWITCHYARD_CONFIG, environment);
  const grpcHost = parsed.GRPC_HOST ?? parsed.HOST;
  // The same rule for both front ends: open (no tenants) only on loopback.
  for (const host of parsed.GRPC_PORT === 0 ? [parsed.HOST] : [parsed.HOST, grpcHost]) {
    if (policy.tenants.length === 0 && !LOOPBACK.test(host)) {
      throw new ConfigError(
        `refusing to listen on ${host} with no tenants: anyone could call it. Configure tenants and keys in SWITCHYARD_CONFIG, or listen on 127.0.0.1`,
      );
    }
  }
  const grpcMaxMessageBytes = parsed.GRPC_MAX_MESSAGE_BYTES ?? parsed.MAX_BODY_BYTES;
  const largestMessage = Math.max(parsed.MAX_BODY_BYTES, grpcMaxMessageBytes);
  if (parsed.BODY_MEMORY_BYTES !== undefined && parsed.BODY_MEMORY_BYTES < largestMessage) {
    throw new ConfigError(
      `BODY_MEMORY_BYTES (${parsed.BODY_MEMORY_BYTES}) is smaller than the largest body or message allowed (MAX_BODY_BYTES, GRPC_MAX_MESSAGE_BYTES: ${largestMessage}), which could then never be read`,
    );
  }
  return Object.freeze({
    ...parsed,
    GRPC_HOST: grpcHost,
    GRPC_MAX_MESSAGE_BYTES: grpcMaxMessageBytes,
    BODY_MEMORY_BYTES: parsed.BODY_MEMORY_BYTES ?? Math.max(largestMessage, Math.floor(usableMemory() / 32)),
    policy,
  });
}

/** The memory this process may use: its cgroup's limit (a container's), else the machine's. */
function usableMemory(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 ? Math.min(constrained, totalmem()) : totalmem();
}

export function configFromEnvironment(): SwitchyardConfig {
  return parseConfig(process.env);
}
