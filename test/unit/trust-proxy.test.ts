import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../gateway/config.js';
import { clientAddress, fastifyTrustProxy } from '../../gateway/http/trust-proxy.js';

const trustProxy = (value?: string) => parseConfig({ ...(value === undefined ? {} : { TRUST_PROXY: value }) }).TRUST_PROXY;

describe('TRUST_PROXY', () => {
  it('is off unless set: the socket address counts', () => {
    expect(trustProxy()).toBe(false);
    expect(trustProxy('')).toBe(false);
    expect(trustProxy('false')).toBe(false);
  });

  it('takes a hop count, or addresses and CIDRs of both families', () => {
    expect(trustProxy('2')).toBe(2);
    expect(trustProxy('10.0.0.0/8, 127.0.0.1,fd00::/8')).toBe('10.0.0.0/8,127.0.0.1,fd00::/8');
  });

  it.each(['true', '*', '10.0.0.0/33', '10.0.0.0/8/1', 'proxy.internal', '::1/129', '1.2.3'])('refuses %s at start', (value) => {
    expect(() => trustProxy(value)).toThrow(ConfigError);
  });

  it('a hop count trusts that many hops and no more', () => {
    const predicate = fastifyTrustProxy(2)!;
    expect([0, 1, 2].map((hop) => predicate('203.0.113.1', hop))).toEqual([true, true, false]);
    expect(fastifyTrustProxy(false)).toBeUndefined();
    const listed = fastifyTrustProxy('127.0.0.1,10.0.0.0/8')!;
    expect(['127.0.0.1', '10.9.9.9', '11.0.0.1', 'junk'].map((address) => listed(address, 0))).toEqual([true, true, false, false]);
  });
});

describe('the client address both front ends count wrong keys against', () => {
  it('unset: the peer, whatever X-Forwarded-For says', () => {
    expect(clientAddress(false)('127.0.0.1', '203.0.113.5')).toBe('127.0.0.1');
  });

  it('listed proxies: the first hop from the right that is not one of them', () => {
    const client = clientAddress(trustProxy('127.0.0.1,10.0.0.0/8'));
    expect(client('127.0.0.1', '203.0.113.5')).toBe('203.0.113.5');
    expect(client('127.0.0.1', '198.51.100.1, 203.0.113.5, 10.1.2.3')).toBe('203.0.113.5');
    expect(client('127.0.0.1', ' , 203.0.113.5 ,, ')).toBe('203.0.113.5');
    // Every hop a proxy: the leftmost entry; none at all: the peer.
    expect(client('127.0.0.1', '10.0.0.1, 10.0.0.2')).toBe('10.0.0.1');
    expect(client('127.0.0.1', undefined)).toBe('127.0.0.1');
    expect(client('127.0.0.1', '')).toBe('127.0.0.1');
    // A dual-stack listener's IPv4-mapped peer is the IPv4 proxy.
    expect(client('::ffff:127.0.0.1', '203.0.113.5')).toBe('203.0.113.5');
    // A peer that is no proxy is the client: its header names nobody.
    expect(client('::1', '203.0.113.5')).toBe('::1');
    expect(client('192.0.2.1', '203.0.113.5')).toBe('192.0.2.1');
  });

  it('a hop count believes that many entries from whoever connects: a direct client picks its address', () => {
    const client = clientAddress(trustProxy('1'));
    expect(client('192.0.2.1', '203.0.113.5')).toBe('203.0.113.5');
    expect(client('192.0.2.1', '198.51.100.7, 203.0.113.5')).toBe('203.0.113.5');
    expect(clientAddress(trustProxy('2'))('192.0.2.1', '198.51.100.7, 203.0.113.5')).toBe('198.51.100.7');
  });
});
