import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../gateway/config.js';
import { fastifyTrustProxy } from '../../gateway/http/trust-proxy.js';

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
    const predicate = fastifyTrustProxy(2) as (address: string, hop: number) => boolean;
    expect([0, 1, 2].map((hop) => predicate('203.0.113.1', hop))).toEqual([true, true, false]);
    expect(fastifyTrustProxy(false)).toBeUndefined();
    expect(fastifyTrustProxy('127.0.0.1,10.0.0.0/8')).toEqual(['127.0.0.1', '10.0.0.0/8']);
  });
});
