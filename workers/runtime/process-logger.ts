import pino, { type Logger } from 'pino';

/**
 * A serving process's logger: JSON lines on stdout, written asynchronously. With a line per
 * request (info), a synchronous write per line cost the gateway 6 % of its CPU per request at
 * 64 connections (bench/hot-path-ab.ts): a write call, and a wake-up of whatever reads the pipe
 * (the container runtime), per line. Asynchronously, the lines that come while a write is out
 * go in the next one; a quiet process still writes each line at once. What is buffered is
 * written on exit (pino flushes on 'exit'); a SIGKILL can lose the last lines.
 */
export function processLogger(level: string, base: Record<string, string>): Logger {
  return pino({ level, base }, pino.destination({ dest: 1, sync: false }));
}
