import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-switchyard-signature';
export const TIMESTAMP_HEADER = 'x-switchyard-timestamp';

/**
 * HMAC-SHA256 over "<timestamp>.<body>" with the tenant's secret, as hex. Signing the
 * timestamp with the body lets a receiver refuse replays of an old delivery.
 */
export function signCallback(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does: recompute and compare in constant time, and refuse stale timestamps. */
export function verifyCallback(
  secret: string,
  timestamp: number,
  body: string,
  signature: string,
  now = Date.now(),
  toleranceS = 300,
): boolean {
  if (Math.abs(now / 1000 - timestamp) > toleranceS) return false;
  const expected = Buffer.from(signCallback(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
