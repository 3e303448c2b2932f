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

/** Whether a hop may name the client before it: `hop` 0 is the socket peer, 1 the last X-Forwarded-For entry, and so on. */
export type TrustHop = (address: string, hop: number) => boolean;

/**
 * The trust rule of a TRUST_PROXY value. A hop count trusts that many hops whatever their
 * address, so a client that reaches the gateway directly picks its own address by sending
 * X-Forwarded-For; addresses and CIDRs trust only the proxies they name.
 */
export function trustHop(trust: Exclude<TrustProxy, false>): TrustHop {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  const proxies = new BlockList();
  for (const entry of trust.split(',')) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) proxies.addAddress(address, family);
    else proxies.addSubnet(address, Number(bits), family);
  }
  // BlockList matches an IPv4-mapped IPv6 peer (a dual-stack listener's) against IPv4 entries.
  return (address) => {
    const family = isIP(address);
    return family !== 0 && proxies.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** The client a request comes from, given its socket peer and its X-Forwarded-For (HTTP header or gRPC metadata). */
export type ClientAddress = (peer: string, forwardedFor: string | undefined) => string;

/**
 * The one reading of X-Forwarded-For both front ends use: walking from the socket peer back
 * through the header's entries (right to left), the client is the first hop not trusted,
 * or the leftmost entry when every hop is. Without TRUST_PROXY, the peer; no allocation
 * unless a trusted peer sent the header.
 */
export function clientAddress(trust: TrustProxy): ClientAddress {
  if (trust === false) return (peer) => peer;
  const trusted = trustHop(trust);
  return (peer, forwardedFor) => {
    if (!forwardedFor || !trusted(peer, 0)) return peer;
    let client = peer;
    let hop = 0;
    let end = forwardedFor.length;
    while (end > 0) {
      const comma = forwardedFor.lastIndexOf(',', end - 1);
      const entry = forwardedFor.slice(comma + 1, end).trim();
      end = comma;
      if (entry === '') continue;
      client = entry;
      hop += 1;
      if (!trusted(client, hop)) return client;
    }
    return client;
  };
}

/** The form fastify's `trustProxy` takes (for `request.ip` and `request.protocol`): the same rule as clientAddress. */
export function fastifyTrustProxy(trust: TrustProxy): TrustHop | undefined {
  return trust === false ? undefined : trustHop(trust);
}
