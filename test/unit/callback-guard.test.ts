import { describe, expect, it } from 'vitest';
import { policySchema } from '../../gateway/policy/policy-config.js';
import { isPublicAddress } from '../../gateway/tasks/callback-address.js';
import { CallbackGuard, type Resolve } from '../../gateway/tasks/callback-guard.js';
import { isServingError } from '../../workers/protocol/errors.js';

/** A resolver backed by a fixed table, as a test DNS zone: names not in it do not resolve. */
function tableResolver(table: Record<string, string[]>): Resolve {
  return async (hostname) => {
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

const guard = (callbacks: Record<string, unknown> = {}, tenants: Record<string, string[]> = {}, resolve?: Resolve): CallbackGuard => {
  const policy = policySchema.parse({ callbacks });
  const tenantList = Object.entries(tenants).map(([name, allow]) => ({ name, callback_allow: allow }) as never);
  return new CallbackGuard({ callbacks: policy.callbacks, tenants: tenantList }, 2000, resolve);
};

async function refusal(check: Promise<unknown>): Promise<string> {
  try {
    await check;
  } catch (error) {
    if (isServingError(error)) return `${error.code}`;
    throw error;
  }
  return 'accepted';
}

describe('callback address classifier', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '::1',
    '0.0.0.0',
    '::',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '100.127.255.255',
    '169.254.169.254',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    '224.0.0.1',
    'ff02::1',
    '255.255.255.255',
    '240.0.0.1',
    '192.0.2.1',
    '198.18.0.1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '[::ffff:7f00:1]',
    '::ffff:0:7f00:1',
    '::7f00:1',
    '::ffff:a9fe:a9fe',
    '64:ff9b::7f00:1',
    '2002:7f00:1::',
    '2002:a00:1::',
    '2001:db8::1',
    'localhost',
    'not-an-address',
  ])('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2002:808:808::'])(
    '%s is public',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('callback guard', () => {
  it.each([
    'http://127.0.0.1:6379/',
    'http://[::1]:8080/x',
    'http://localhost:6379/',
    'http://LOCALHOST./',
    'http://2130706433:80/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://0x7f.1/',
    'http://%31%32%37.0.0.1/',
    'http://127.0.0.1./',
    'http://0.0.0.0/',
    'http://0/',
    'http://[::]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::127.0.0.1]/',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://[64:ff9b::127.0.0.1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/',
    'http://[fd00::1]/',
    'http://10.0.0.1/',
    'http://0300.0250.0.1/',
    'http://172.16.5.4/',
    'http://100.64.0.1/',
    'http://224.0.0.251/',
    'http://4294967295/',
    'https://[ff02::1]/',
    'http://nothing.invalid/',
  ])('refuses %s by default with 400 invalid_parameter', async (url) => {
    expect(await refusal(guard().vet('anyone', url))).toBe('invalid_parameter');
  });

  it('resolves localhost through the system resolver and refuses it', async () => {
    expect(await refusal(guard().vet('anyone', 'http://localhost/'))).toBe('invalid_parameter');
    const allowed = await guard({ allow_private: true }).vet('anyone', 'http://localhost:1/');
    expect(allowed.address).toMatch(/^(127\.0\.0\.1|::1)$/);
  });

  it('refuses URLs with credentials and other schemes', async () => {
    expect(await refusal(guard().vet('anyone', 'http://user:pw@93.184.216.34/'))).toBe('invalid_parameter');
    expect(await refusal(guard().vet('anyone', 'ftp://93.184.216.34/'))).toBe('invalid_parameter');
  });

  it('accepts public addresses and names, answering the address it checked', async () => {
    const resolve = tableResolver({ 'hooks.example.com': ['93.184.216.34', '2606:2800:220:1::1'] });
    await expect(guard({}, {}, resolve).vet('anyone', 'https://hooks.example.com/done')).resolves.toMatchObject({
      address: '93.184.216.34',
      family: 4,
    });
    await expect(guard().vet('anyone', 'http://[2606:4700::1111]:8443/x')).resolves.toMatchObject({
      address: '2606:4700::1111',
      family: 6,
    });
  });

  it('refuses a name if any of its addresses is internal', async () => {
    const resolve = tableResolver({ 'mixed.example.com': ['93.184.216.34', '10.0.0.5'], 'inner.example.com': ['::ffff:192.168.0.1'] });
    expect(await refusal(guard({}, {}, resolve).vet('anyone', 'http://mixed.example.com/'))).toBe('invalid_parameter');
    expect(await refusal(guard({}, {}, resolve).vet('anyone', 'http://inner.example.com/'))).toBe('invalid_parameter');
  });

  it('a name that does not answer in time is refused, saying it was slow rather than absent', async () => {
    const slow = new CallbackGuard(policySchema.parse({}), 50, () => new Promise(() => undefined));
    await expect(slow.vet('anyone', 'http://slow.example.com/')).rejects.toMatchObject({
      code: 'invalid_parameter',
      message: "callback_url's host did not resolve within 50 ms; try again",
    });
  });

  it('allows internal targets only where the policy says so, per tenant', async () => {
    const resolve = tableResolver({
      'hooks.internal': ['10.0.0.5'],
      'api.svc.cluster.local': ['10.96.0.10'],
      'other.internal': ['10.0.0.6'],
    });
    const policy = guard({ allow: ['*.svc.cluster.local'] }, { ops: ['hooks.internal', '192.168.0.0/16', '::1'] }, resolve);
    await expect(policy.vet('ops', 'http://hooks.internal:8080/')).resolves.toMatchObject({ address: '10.0.0.5' });
    await expect(policy.vet('ops', 'http://192.168.7.7/')).resolves.toMatchObject({ address: '192.168.7.7' });
    await expect(policy.vet('ops', 'http://[::1]:9/')).resolves.toMatchObject({ address: '::1' });
    await expect(policy.vet('ops', 'http://api.svc.cluster.local/')).resolves.toMatchObject({ address: '10.96.0.10' });
    await expect(policy.vet('someone', 'http://api.svc.cluster.local/')).resolves.toMatchObject({ address: '10.96.0.10' });
    expect(await refusal(policy.vet('someone', 'http://hooks.internal/'))).toBe('invalid_parameter');
    expect(await refusal(policy.vet('someone', 'http://192.168.7.7/'))).toBe('invalid_parameter');
    expect(await refusal(policy.vet('ops', 'http://other.internal/'))).toBe('invalid_parameter');
    expect(await refusal(policy.vet('ops', 'http://127.0.0.1/'))).toBe('invalid_parameter');
    await expect(guard({ allow_private: true }).vet('anyone', 'http://[::ffff:127.0.0.1]:1/')).resolves.toMatchObject({
      address: '::ffff:7f00:1',
    });
  });

  it('the policy schema checks allow-list entries', () => {
    expect(policySchema.parse({}).callbacks).toEqual({ allow_private: false, allow: [] });
    const good = ['10.0.0.0/8', 'fd00::/8', 'hooks.internal', '*.svc.cluster.local', '127.0.0.1'];
    expect(policySchema.safeParse({ callbacks: { allow: good } }).success).toBe(true);
    for (const bad of ['10.0.0.0/33', '::/129', 'http://x', '', 'a b', '10.0.0.0/8/1', 'host/8']) {
      expect(policySchema.safeParse({ callbacks: { allow: [bad] } }).success, bad).toBe(false);
    }
    expect(policySchema.safeParse({ callbacks: { allow_private: 'yes' } }).success).toBe(false);
  });
});
