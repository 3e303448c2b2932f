import pino from 'pino';

/**
 * The logger's `err` serializer: pino's, with credentials taken out. ioredis puts the command
 * that failed on its errors (and on each of `previousErrors`), and a failed login's command is
 * `HELLO 3 AUTH <user> <password>` or `AUTH <password>`: its arguments are replaced. Any URL
 * with a password in a string loses the password. Runs only when an error is logged.
 */
const CREDENTIAL_COMMANDS = new Set(['auth', 'hello', 'migrate', 'acl', 'config']);
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s@/]*@/gi;
export const REDACTED = '[redacted]';

export function redactedError(error: unknown): unknown {
  const seen = new WeakSet<object>();
  if (typeof error !== 'object' || error === null) return scrub(error, seen);
  seen.add(error);
  return scrub(error instanceof Error ? pino.stdSerializers.err(error) : { ...error }, seen);
}

function scrub(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return value.replace(URL_PASSWORD, `$1:${REDACTED}@`);
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => scrub(item, seen));
  const source = value instanceof Error ? pino.stdSerializers.err(value) : (value as Record<string, unknown>);
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(source)) copy[key] = scrub(field, seen);
  if (typeof copy.name === 'string' && Array.isArray(copy.args) && CREDENTIAL_COMMANDS.has(copy.name.toLowerCase())) copy.args = [REDACTED];
  return copy;
}
