import { afterAll, describe, expect, it } from 'vitest';
import { ReplySender } from '../../workers/queue/reply-stream.js';
import type { Reply } from '../../workers/queue/job-codec.js';
import { cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';

const prefix = testPrefix();
const redis = testRedis();
afterAll(async () => {
  await cleanRedis(prefix);
  redis.disconnect();
});

const reply = (jobId: string): Reply => ({ jobId, items: [{ item: 0, ok: false, code: 'invalid_input', message: 'test' }] });

describe('ReplySender (real Redis)', () => {
  it('appends every reply, and sets the expiry with the first one', async () => {
    const key = `${prefix}:replies:first`;
    const sender = new ReplySender(redis);
    await sender.send(key, reply('a'));
    await sender.send(key, reply('b'));
    const entries = await redis.xrange(key, '-', '+');
    expect(entries.map(([, fields]) => (JSON.parse(fields[1]!) as Reply).jobId)).toEqual(['a', 'b']);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(100_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });

  it('renews the expiry only once the renewal interval has passed', async () => {
    const key = `${prefix}:replies:renew`;
    const sender = new ReplySender(redis, 200);
    await sender.send(key, reply('a'));
    await redis.persist(key);
    await sender.send(key, reply('b'));
    expect(await redis.pttl(key)).toBe(-1); // within the interval: entry only
    await new Promise((resolve) => setTimeout(resolve, 250));
    await sender.send(key, reply('c'));
    expect(await redis.pttl(key)).toBeGreaterThan(100_000);
    expect(await redis.xlen(key)).toBe(3);
  });

  it('rejects when Redis refuses the entry, on the renewing and the plain path alike', async () => {
    const sender = new ReplySender(redis, 60_000);
    const fresh = `${prefix}:replies:wrong-type`;
    await redis.set(fresh, 'not a stream');
    await expect(sender.send(fresh, reply('a'))).rejects.toThrow(/WRONGTYPE/);

    const renewed = `${prefix}:replies:later-wrong-type`;
    await sender.send(renewed, reply('a'));
    await redis.del(renewed);
    await redis.set(renewed, 'not a stream');
    await expect(sender.send(renewed, reply('b'))).rejects.toThrow(/WRONGTYPE/);
  });
});
