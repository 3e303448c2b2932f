import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, RedisAuditLog } from '../../gateway/audit/audit-log.js';
import { parseEnvironment, redisTarget, sharedEnvironment } from '../../workers/config.js';
import { keySlot } from '../../workers/queue/key-slot.js';
import { connect, whenReady } from '../../workers/queue/redis-connection.js';
import { ReplySender } from '../../workers/queue/reply-stream.js';
import { inferQueueName, inferQueueNames } from '../../workers/queue/queue-names.js';
import { rateLimitId, redisKeys } from '../../workers/queue/redis-keys.js';
import { post } from '../helpers/gateway.js';
import { startInProcessCluster, type InProcessCluster } from '../helpers/in-process-cluster.js';
import { MlpReference, mlpBody } from '../helpers/mlp-reference.js';
import { TestRedisCluster } from '../helpers/redis-cluster.js';
import { testPrefix } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

/** A 3-master Redis Cluster of its own (ports 7140-7142): the queues are spread over the shards. */
const prefix = testPrefix();
const repository = new TestRepository().copy('mlp-classifier', {}, true);
let servers: TestRedisCluster;
let stack: InProcessCluster;
const nodes: Redis[] = [];

beforeAll(async () => {
  servers = await new TestRedisCluster(7140).start();
  nodes.push(...servers.nodes.map((node) => new Redis(node.port, '127.0.0.1', { maxRetriesPerRequest: 1 })));
  const env = { ...servers.env, REDIS_PREFIX: prefix, LOAD_MODELS: 'mlp-classifier', CPU_COUNT: '1', HEARTBEAT_MS: '200' };
  stack = await startInProcessCluster(repository.dir, env, 'mlp-classifier', {});
});
afterAll(async () => {
  await stack?.close();
  for (const node of nodes) node.disconnect();
  await servers?.stop();
  repository.remove();
});

/** The keys under `pattern` on each master, by port. */
async function keysPerNode(pattern: string): Promise<number[]> {
  return Promise.all(nodes.map(async (node) => (await node.keys(pattern)).length));
}

describe('Redis Cluster', () => {
  it('serves two versions whose queues live on different masters, each queue whole on one', async () => {
    const reference = await MlpReference.load();
    for (const version of ['1', '2']) {
      const url = (seed: number): string => `${stack.gateways[seed % 2]!.url}/v2/models/mlp-classifier/versions/${version}/infer`;
      const replies = await Promise.all(Array.from({ length: 20 }, (_, seed) => post(url(seed), mlpBody(seed))));
      expect(replies.map((r) => r.status)).toEqual(new Array(20).fill(200));
      if (version === '1') {
        for (const [seed, reply] of replies.entries())
          expect(await reference.matches(seed, (reply.json.outputs as { data: number[] }[])[0]!.data)).toBe(true);
      }
    }
    await reference.close();
    const keys = redisKeys(prefix);
    const owners = await Promise.all(
      ['1', '2'].map(async (version) => {
        const queue = inferQueueName('mlp-classifier', version);
        const perNode = await keysPerNode(`${keys.queuePrefix(queue)}:*`);
        // Every key of the queue on one master: BullMQ's scripts touch them together.
        expect(perNode.filter((count) => count > 0)).toHaveLength(1);
        const owner = perNode.findIndex((count) => count > 0);
        // ...the master that owns the queue's hash slot.
        const slot = await nodes[0]!.cluster('KEYSLOT', keys.waiting(queue).wait);
        expect(slot).toBe(await nodes[0]!.cluster('KEYSLOT', `${keys.queuePrefix(queue)}:${queue}:meta`));
        const ranges = (await nodes[owner]!.cluster('SHARDS')) as unknown[];
        expect(ownsSlot(ranges, servers.nodes[owner]!.port, slot as number)).toBe(true);
        return owner;
      }),
    );
    expect(owners[0]).not.toBe(owners[1]);
    const sizes = await Promise.all(nodes.map((node) => node.dbsize()));
    expect(sizes.filter((size) => size > 0).length).toBeGreaterThanOrEqual(2);
  });
});

describe("the key layout, by the cluster's own CLUSTER KEYSLOT", () => {
  const keys = redisKeys('switchyard');
  const slot = async (key: string): Promise<number> => (await nodes[0]!.cluster('KEYSLOT', key)) as number;
  const slots = (list: string[]): Promise<number[]> => Promise.all(list.map(slot));

  it("a tenant's budget, idempotency and rate-limit keys share one slot; tenants spread", async () => {
    const acme = await slots([
      keys.budget('acme', 'day'),
      keys.budget('acme', '2026-12'),
      keys.idempotency('acme', 'f00d'),
      keys.rateLimitNameSpace() + rateLimitId('acme'),
    ]);
    expect(new Set(acme).size).toBe(1);
    expect(
      new Set(await slots(['acme', 'globex', 'initech', 'umbrella'].map((tenant) => keys.budget(tenant, 'day')))).size,
    ).toBeGreaterThan(1);
  });

  it("each queue's BullMQ keys share a slot, and queues spread over slots", async () => {
    const queues = ['1', '2', '3'].map((version) => inferQueueName('mlp-classifier', version));
    for (const queue of queues) {
      const bullKeys = ['wait', 'prioritized', 'active', 'meta', 'events', 'id', '42'].map(
        (suffix) => `${keys.queuePrefix(queue)}:${queue}:${suffix}`,
      );
      expect(new Set(await slots([...bullKeys, keys.waiting(queue).wait, keys.waiting(queue).prioritized])).size).toBe(1);
    }
    expect(new Set(await slots(queues.map((queue) => keys.waiting(queue).wait))).size).toBe(3);
  });

  it("a version's queue partitions: each whole in one slot, the three on three masters; our slot function agrees", async () => {
    const shards = (await nodes[0]!.cluster('SHARDS')) as unknown[];
    const masters = new Set<number>();
    for (const queue of inferQueueNames('mlp-classifier', '1', 3)) {
      const bullKeys = ['wait', 'prioritized', 'delayed', 'active', 'marker', '42'].map(
        (suffix) => `${keys.queuePrefix(queue)}:${queue}:${suffix}`,
      );
      const queueSlots = await slots(bullKeys);
      expect(new Set(queueSlots).size).toBe(1);
      expect(keySlot(bullKeys[0]!)).toBe(queueSlots[0]);
      const master = servers.nodes.find((node) => ownsSlot(shards, node.port, queueSlots[0]!))!;
      masters.add(master.port);
    }
    expect(masters.size).toBe(3);
  });

  it('keys one MULTI writes or one MGET reads share a slot', async () => {
    for (const group of [
      [keys.workers(), keys.worker('w1'), keys.worker('w2')],
      [keys.reviewIndex(), keys.reviewItem('a'), keys.reviewCounts('created'), keys.reviewCounts('routed')],
      [keys.ledger('2026-12-06'), keys.ledger('2026-12-07')],
      [keys.task('t1'), keys.taskEvents('t1'), keys.taskEventSeq('t1')],
    ]) {
      expect(new Set(await slots(group)).size).toBe(1);
    }
  });
});

/** Whether CLUSTER SHARDS says the node on `port` is the master of `slot`. */
function ownsSlot(shards: unknown[], port: number, slot: number): boolean {
  return shards.some((shard) => {
    const fields = shard as unknown[];
    const slots = fields[fields.indexOf('slots') + 1] as number[];
    const members = fields[fields.indexOf('nodes') + 1] as unknown[][];
    const inRange = slots.some((start, i) => i % 2 === 0 && slot >= start && slot <= slots[i + 1]!);
    return (
      inRange && members.some((member) => member[member.indexOf('port') + 1] === port && member[member.indexOf('role') + 1] === 'master')
    );
  });
}

describe('a master that stops answering (SIGSTOP, sockets open)', () => {
  it("a reply, or an audit batch, written to it fails after the bound instead of holding the job's finish or the log for ever", async () => {
    const cluster = connect(redisTarget(parseEnvironment(sharedEnvironment, servers.env))!, 'serving', 'stall-test');
    try {
      await whenReady(cluster, 10_000);
      const replyKey = `${prefix}:replies:stall`;
      const auditKey = `${prefix}:audit:stall`;
      const paused = [...new Set([keySlot(replyKey), keySlot(auditKey)].map((slot) => servers.ownerOf(slot)))];
      const sender = new ReplySender(cluster, 60_000, 300);
      const failures: unknown[] = [];
      const audit = new RedisAuditLog(cluster, auditKey, 100, (error) => failures.push(error), 300);
      await sender.send(replyKey, { items: [] });
      const nodesOf = paused.map((port) => servers.nodes.find((node) => node.port === port)!);
      for (const node of nodesOf) node.signal('SIGSTOP');
      try {
        const startedAt = Date.now();
        await expect(sender.send(replyKey, { items: [] })).rejects.toThrow(/did not settle within 300 ms/);
        await audit.append(auditEntry());
        await audit.flush();
        expect(Date.now() - startedAt).toBeLessThan(1_800);
        expect(String(failures[0])).toMatch(/did not settle within 300 ms/);
      } finally {
        for (const node of nodesOf) node.signal('SIGCONT');
      }
      // The log goes on: the next batch is written once the master answers again.
      await audit.append(auditEntry());
      await audit.flush();
      expect((await audit.read(10)).length).toBeGreaterThanOrEqual(1);
    } finally {
      cluster.disconnect();
    }
  });
});

function auditEntry(): AuditEntry {
  return { time: new Date().toISOString(), requestId: 'r', tenant: 't', route: 'm', status: 200, costUsd: 0, latencyMs: 1 };
}
