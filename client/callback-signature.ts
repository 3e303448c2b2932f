import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-switchyard-signature';
export const TIMESTAMP_HEADER = 'x-switchyard-timestamp';

export interface VerifyOptions {
  /** How far the timestamp may be from now, either way (default 300 s): older deliveries are refused as replays. */
  readonly toleranceSeconds?: number;
  readonly now?: number;
}

type HeaderSource = Headers | Readonly<Record<string, string | string[] | undefined>>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Checks a task callback from the gateway: X-Switchyard-Signature is
 * `sha256=` + hex HMAC-SHA256(secret, "<X-Switchyard-Timestamp>.<raw body>"), compared in
 * constant time, and the timestamp (Unix seconds) must be within the tolerance. Pass the body
 * exactly as received (before any JSON parsing).
 */
export function verifyCallbackSignature(
  secret: string,
  headers: HeaderSource,
  body: string | Uint8Array,
  options: VerifyOptions = {},
): boolean {
  const timestampText = header(headers, TIMESTAMP_HEADER);
  const signature = header(headers, SIGNATURE_HEADER);
  if (timestampText === undefined || signature === undefined || !/^\d{1,12}$/.test(timestampText)) return false;
  const now = options.now ?? Date.now();
  if (Math.abs(now / 1000 - Number(timestampText)) > (options.toleranceSeconds ?? 300)) return false;
  const mac = createHmac('sha256', secret).update(`${timestampText}.`).update(body).digest('hex');
  const expected = Buffer.from(`sha256=${mac}`);
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
