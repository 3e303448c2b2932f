import { afterAll, describe, expect, it } from 'vitest';
import { RedisAuditLog } from '../../gateway/audit/audit-log.js';
import { RedisSpendLedger } from '../../gateway/ledger/spend-ledger.js';
import { WriteBehind } from '../../gateway/support/write-behind.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { whenReady } from '../../workers/queue/redis-connection.js';
import { REDIS_ENV, cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';

const prefix = testPrefix();
const observer = testRedis();
afterAll(async () => {
  await cleanRedis(prefix);
  observer.disconnect();
});

const until = async (check: () => boolean | Promise<boolean>, ms: number): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await check()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
};

describe('write-behind across failed writes', () => {
  it('a batch whose write fails is kept and written later, in order, with the same batch id', async () => {
    const written: number[] = [];
    const tries: string[] = [];
    let failures = 2;
    const errors: unknown[] = [];
    const buffer = new WriteBehind<number>(
      async (items, batch) => {
        tries.push(batch);
        if (failures-- > 0) throw new Error('Redis away');
        written.push(...items);
      },
      (error) => errors.push(error),
      10,
    );
    for (let i = 0; i < 5; i += 1) buffer.add(i);
    await until(() => written.length === 5, 10_000);
    for (let i = 5; i < 8; i += 1) buffer.add(i);
    await buffer.flush();
    expect(written).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(errors).toHaveLength(2);
    expect(new Set(tries.slice(0, 3)).size).toBe(1);
    expect(buffer.waiting).toBe(0);
  });

  it('past maxRetained the oldest records are dropped, and the count is reported', async () => {
    const written: number[] = [];
    let failing = true;
    const errors: string[] = [];
    const buffer = new WriteBehind<number>(
      async (items) => {
        if (failing) throw new Error('Redis away');
        written.push(...items);
      },
      (error) => errors.push((error as Error).message),
      10,
      4,
      10,
    );
    for (let i = 0; i < 4; i += 1) buffer.add(i);
    await buffer.flush();
    for (let i = 4; i < 25; i += 1) buffer.add(i);
    expect(buffer.waiting).toBe(10);
    failing = false;
    await buffer.flush();
    expect(written).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    expect(errors.filter((message) => message.includes('dropped')).length).toBeGreaterThan(0);
  });

  it('ledger and audit records written while Redis is unreachable are written once it is back, each once', async () => {
    // A connection of the gateway's request-path kind (no offline queue): closed, its commands fail at once.
    const flaky = testRedis('switchyard-test-flaky', REDIS_ENV, 'serving');
    await whenReady(flaky, 5_000);
    const errors: unknown[] = [];
    const ledger = new RedisSpendLedger(flaky, prefix, (error) => errors.push(error));
    const auditKey = redisKeys(prefix).audit();
    const audit = new RedisAuditLog(flaky, auditKey, 1_000, (error) => errors.push(error));
    const ended = new Promise((resolve) => flaky.once('end', resolve));
    flaky.disconnect();
    await ended;
    for (let i = 0; i < 20; i += 1) {
      await ledger.record('t', 'm', '1', 1_000);
      await audit.append({ tenant: 't', requestId: `r${i}` } as never);
    }
    await Promise.all([ledger.flush(), audit.flush()]);
    expect(errors.length).toBeGreaterThan(0);
    await flaky.connect();
    await whenReady(flaky, 5_000);
    await until(async () => (await observer.xlen(auditKey)) >= 20, 15_000);
    const day = new Date().toISOString().slice(0, 10);
    await until(async () => Object.keys(await observer.hgetall(redisKeys(prefix).ledger(day))).length > 0, 15_000);
    expect(await observer.xlen(auditKey)).toBe(20);
    expect(await observer.hgetall(redisKeys(prefix).ledger(day))).toEqual({ 't\tm\t1\tpico': '20000', 't\tm\t1\tn': '20' });
    flaky.disconnect();
  }, 30_000);
});
