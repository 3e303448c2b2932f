import { afterAll, describe, expect, it } from 'vitest';
import { MemoryTaskStore } from '../../gateway/tasks/memory-task-store.js';
import { RedisTaskStore } from '../../gateway/tasks/redis-task-store.js';
import type { TaskRecord } from '../../gateway/tasks/task-record.js';
import type { TaskStore } from '../../gateway/tasks/task-store.js';
import { cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';

/** A task's event numbers come from one counter: dense and unique even when two gateways append at once. */
const prefix = testPrefix();
const connections = [testRedis(), testRedis()];
afterAll(async () => {
  await cleanRedis(prefix);
  for (const redis of connections) redis.disconnect();
});

const stores: [string, () => TaskStore[]][] = [
  ['memory', () => [new MemoryTaskStore(3_600_000)]],
  ['redis', () => connections.map((redis) => new RedisTaskStore(redis, prefix, 3_600_000))],
];

const record = (id: string): TaskRecord => ({
  id,
  pipeline: 'p',
  tenant: 'acme',
  mode: 'async',
  status: 'running',
  created_at: new Date().toISOString(),
  deadline: Date.now() + 60_000,
  priority: 0,
  runs: 1,
});

describe.each(stores)('%s task store', (_name, make) => {
  it('40 events appended at once through two connections are numbered 1..40, each once', async () => {
    const instances = make();
    const id = `t-${Math.random().toString(36).slice(2)}`;
    await instances[0]!.put(record(id));
    await Promise.all(Array.from({ length: 40 }, (_, i) => instances[i % instances.length]!.appendEvent(id, 'step-finished', { i })));
    const events = await instances[instances.length - 1]!.events(id, 0, 0);
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(new Set(events.map((event) => (event.data as { i: number }).i)).size).toBe(40);
    expect((await instances[0]!.events(id, 35, 0)).map((event) => event.seq)).toEqual([36, 37, 38, 39, 40]);
  });
});
