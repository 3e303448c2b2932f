import { BlockList, isIP } from 'node:net';
import { z } from 'zod';

/**
 * Which proxies' X-Forwarded-For fastify believes for `request.ip`: none (false), a hop count, or
 * the proxies' addresses and CIDRs. Never `true` (every hop trusted): any client could then pick the
 * address its failed keys count against.
 */
export type TrustProxy = false | number | string;

function validEntry(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) return false;
  try {
    new BlockList().addSubnet(address, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    return true;
  } catch {
    return false;
  }
}

export const trustProxySchema = z
  .string()
  .optional()
  .transform((value, context): TrustProxy => {
    const text = value?.trim() ?? '';
    if (text === '' || text === 'false' || text === '0') return false;
    if (/^\d+$/.test(text)) return Number(text);
    const entries = text.split(',').map((entry) => entry.trim());
    const bad = entries.filter((entry) => !validEntry(entry));
    if (bad.length > 0) {
      context.addIssue({
        code: 'custom',
        message: `not a hop count, address or CIDR: ${bad.join(', ')} (true is refused: it would trust any client)`,
      });
      return z.NEVER;
    }
    return entries.join(',');
  });

/** The form fastify's `trustProxy` takes: the addresses as a list, or a hop count as its predicate. */
export function fastifyTrustProxy(trust: TrustProxy): string[] | ((address: string, hop: number) => boolean) | undefined {
  if (trust === false) return undefined;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust.split(',');
}
