import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBudgetStore, RedisBudgetStore, type BudgetStore } from '../../gateway/budget/budget-store.js';
import { cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';

/** A budget's check and charge are one step: tested at the limit and under concurrent reservations (two connections: two gateways). */
const prefix = testPrefix();
const connections = [testRedis(), testRedis()];
afterAll(async () => {
  await cleanRedis(prefix);
  for (const redis of connections) redis.disconnect();
});

const COST = 1_000_000_000;
const N = 5;

const stores: [string, () => BudgetStore[]][] = [
  ['memory', () => [new MemoryBudgetStore()]],
  ['redis', () => connections.map((redis) => new RedisBudgetStore(redis, prefix))],
];

const tenant = (): string => `t-${Math.random().toString(36).slice(2)}`;

describe.each(stores)('%s budget store', (_name, make) => {
  it('a budget of exactly N requests admits N reservations and refuses the next', async () => {
    const [store] = make();
    const who = tenant();
    for (let i = 0; i < N; i += 1) expect(await store!.reserve(who, 'day', N * COST, COST)).toBe(true);
    expect(await store!.reserve(who, 'day', N * COST, COST)).toBe(false);
    expect(await store!.reserve(who, 'day', N * COST, 1)).toBe(false);
    expect(await store!.usage(who, 'day')).toEqual({ spentPico: 0, reservedPico: N * COST });
  });

  it('settled spending counts against the limit exactly: spent + estimate == limit fits, one more pico does not', async () => {
    const [store] = make();
    const who = tenant();
    expect(await store!.reserve(who, 'day', N * COST, COST)).toBe(true);
    await store!.settle(who, 'day', COST, (N - 1) * COST);
    expect(await store!.reserve(who, 'day', N * COST, COST + 1)).toBe(false);
    expect(await store!.reserve(who, 'day', N * COST, COST)).toBe(true);
    await store!.release(who, 'day', COST);
    expect(await store!.usage(who, 'day')).toEqual({ spentPico: (N - 1) * COST, reservedPico: 0 });
  });

  it(`of ${10 * N} concurrent reservations against a budget of N, exactly N are admitted`, async () => {
    const instances = make();
    const who = tenant();
    const admitted = await Promise.all(
      Array.from({ length: 10 * N }, (_, i) => instances[i % instances.length]!.reserve(who, 'day', N * COST, COST)),
    );
    expect(admitted.filter(Boolean)).toHaveLength(N);
    expect((await instances[0]!.usage(who, 'day')).reservedPico).toBe(N * COST);
  });

  it('a reservation named by a hold is made, settled and released once, however often each is sent (a retry, a resend after a reconnect)', async () => {
    const [store] = make();
    const who = tenant();
    expect(await store!.reserve(who, 'day', N * COST, COST, 'h1')).toBe(true);
    expect(await store!.reserve(who, 'day', N * COST, COST, 'h1')).toBe(true);
    expect(await store!.usage(who, 'day')).toEqual({ spentPico: 0, reservedPico: COST });
    await store!.settle(who, 'day', COST, COST / 2, 'h1');
    await store!.settle(who, 'day', COST, COST / 2, 'h1');
    await store!.release(who, 'day', COST, 'h1');
    expect(await store!.usage(who, 'day')).toEqual({ spentPico: COST / 2, reservedPico: 0 });
    // A release for a reservation never made (its reserve failed before it landed) gives nothing back.
    expect(await store!.reserve(who, 'day', N * COST, COST, 'h2')).toBe(true);
    await store!.release(who, 'day', COST, 'never-made');
    expect(await store!.usage(who, 'day')).toEqual({ spentPico: COST / 2, reservedPico: COST });
  });
});
