import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ServingError } from '../../workers/protocol/errors.js';
import type { Policy } from '../policy/policy-config.js';
import { isPublicAddress, unbracket } from './callback-address.js';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Host name -> its addresses; the system resolver by default, a fixed table in tests. */
export type Resolve = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** A callback URL whose host was checked, and the addresses that were checked: the ones to connect to. */
export interface CallbackTarget {
  readonly url: URL;
  /** The first of `addresses`. */
  readonly address: string;
  readonly family: 4 | 6;
  readonly addresses: readonly { readonly address: string; readonly family: 4 | 6 }[];
}

const systemResolve: Resolve = (hostname) => lookup(hostname, { all: true, verbatim: true });

const REFUSED =
  'callback_url must reach a public address: its host is, or resolves to, a loopback, private, link-local, CGNAT, multicast, ' +
  'unspecified or reserved address, or does not resolve (internal receivers need callbacks.allow_private, callbacks.allow ' +
  "or the tenant's callback_allow in the policy)";

/** What one tenant's callbacks may reach besides public addresses. */
class Allowance {
  readonly #hosts = new Set<string>();
  readonly #suffixes: string[] = [];
  readonly #ranges = new BlockList();

  readonly anyAddress: boolean;

  constructor(anyAddress: boolean, entries: readonly string[]) {
    this.anyAddress = anyAddress;
    for (const entry of entries) {
      const [address, prefix] = entry.split('/');
      const family = isIP(address!);
      if (family !== 0)
        this.#ranges.addSubnet(address!, prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
      else if (entry.startsWith('*.')) this.#suffixes.push(normalHost(entry.slice(1)));
      else this.#hosts.add(normalHost(entry));
    }
  }

  host(hostname: string): boolean {
    const host = normalHost(hostname);
    return this.#hosts.has(host) || this.#suffixes.some((suffix) => host.endsWith(suffix));
  }

  address(address: string, family: 4 | 6): boolean {
    return this.#ranges.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

const normalHost = (host: string): string => host.toLowerCase().replace(/\.$/, '');

/**
 * Decides where a tenant's callbacks may go: public addresses, plus what the policy allows.
 * `vet` resolves the host once and answers with the addresses it checked, so the delivery
 * connects to exactly those (no DNS rebinding between the check and the connection);
 * it runs at submission and again before every delivery attempt.
 */
export class CallbackGuard {
  readonly #global: Allowance;
  readonly #tenants = new Map<string, Allowance>();
  readonly #timeoutMs: number;
  readonly #resolve: Resolve;

  /** `timeoutMs` bounds each lookup: a name that does not answer in time is refused. */
  constructor(policy: Pick<Policy, 'callbacks' | 'tenants'>, timeoutMs: number, resolve: Resolve = systemResolve) {
    this.#timeoutMs = timeoutMs;
    this.#resolve = resolve;
    this.#global = new Allowance(policy.callbacks.allow_private, policy.callbacks.allow);
    for (const tenant of policy.tenants) {
      const own = tenant.callback_allow ?? [];
      if (own.length > 0)
        this.#tenants.set(tenant.name, new Allowance(policy.callbacks.allow_private, [...policy.callbacks.allow, ...own]));
    }
  }

  /** The target to connect to; 400 `invalid_parameter` when the URL may not be called back. */
  async vet(tenant: string, callbackUrl: string): Promise<CallbackTarget> {
    let url: URL;
    try {
      url = new URL(callbackUrl);
    } catch {
      throw new ServingError('invalid_parameter', 'callback_url must be an http or https URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ServingError('invalid_parameter', 'callback_url must be an http or https URL');
    if (url.username || url.password) {
      throw new ServingError('invalid_parameter', 'callback_url must not carry credentials (the signature authenticates deliveries)');
    }
    const allowance = this.#tenants.get(tenant) ?? this.#global;
    const host = unbracket(url.hostname);
    const literal = isIP(host);
    const addresses = literal !== 0 ? [{ address: host, family: literal }] : await this.#lookup(host);
    if (addresses.length === 0) throw new ServingError('invalid_parameter', REFUSED);
    // Every address must pass, not just the first: a name may answer with a public and an internal one.
    const hostAllowed = allowance.anyAddress || (literal === 0 && allowance.host(host));
    for (const { address, family } of addresses) {
      if (family !== 4 && family !== 6) throw new ServingError('invalid_parameter', REFUSED);
      if (!hostAllowed && !isPublicAddress(address) && !allowance.address(address, family))
        throw new ServingError('invalid_parameter', REFUSED);
    }
    const vetted = addresses.map(({ address, family }) => ({ address, family: family as 4 | 6 }));
    return { url, ...vetted[0]!, addresses: vetted };
  }

  async #lookup(host: string): Promise<readonly ResolvedAddress[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('lookup timed out')), this.#timeoutMs);
    });
    try {
      return await Promise.race([this.#resolve(host), timeout]);
    } catch (error) {
      // Slow is not absent: the caller is told the name did not resolve in time, not that it cannot.
      if ((error as Error).message === 'lookup timed out')
        throw new ServingError('invalid_parameter', `callback_url's host did not resolve within ${this.#timeoutMs} ms; try again`);
      return [];
    } finally {
      clearTimeout(timer);
    }
  }
}
