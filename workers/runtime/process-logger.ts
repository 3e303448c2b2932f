import pino, { type Logger } from 'pino';
import { redactedError } from './redact-error.js';

/** How long a line may wait for others to share its write, with `batched`. */
export const LOG_FLUSH_MS = 100;
/** Bytes of lines that are written at once, with `batched`, however recent. */
const BATCH_BYTES = 4096;

/**
 * A serving process's logger: JSON lines on stdout, written asynchronously. A write call per
 * line, and a wake-up of whatever reads the pipe (the container runtime) per line, cost the
 * gateway, which logs a line per request at info, 6-9 % of its CPU per request at 64
 * connections (bench/hot-path-ab.ts, both orders); asynchronous writes carry the lines that come
 * while one is out. `batched` (the gateway) also holds lines until 4 KiB or LOG_FLUSH_MS have
 * gathered: 4-5 % less again. What is held is written on exit (pino flushes on 'exit'); a
 * SIGKILL can lose the last LOG_FLUSH_MS of lines. Logged errors lose their credentials (redact-error.ts).
 */
export function processLogger(level: string, base: Record<string, string>, options: { batched?: boolean } = {}): Logger {
  const batching = options.batched ? { minLength: BATCH_BYTES, periodicFlush: LOG_FLUSH_MS } : {};
  return pino({ level, base, serializers: { err: redactedError } }, pino.destination({ dest: 1, sync: false, ...batching }));
}
