import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferQueueName } from '../../workers/queue/queue-names.js';
import { keySlot } from '../../workers/queue/key-slot.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { failoverUnderLoad, startFailoverStack } from '../helpers/failover-load.js';
import type { InProcessCluster } from '../helpers/in-process-cluster.js';
import { TestRedisCluster } from '../helpers/redis-cluster.js';
import { testPrefix } from '../helpers/redis.js';
import { taskFixture } from '../helpers/task-fixture.js';

/**
 * A Redis Cluster of its own (3 masters, each with a replica; ports 7180-7185): under steady
 * load with Idempotency-Keys, the master serving the model's queue is SIGKILLed. Its replica
 * takes over after cluster-node-timeout (2 s); meanwhile requests get a quick 503, then both
 * gateways serve again, no key runs twice and every task finishes.
 */
let fixture: ReturnType<typeof taskFixture>;
const prefix = testPrefix();
let servers: TestRedisCluster;
let stack: InProcessCluster;

// Opt in (`npm run test:redis-cluster-failover`): CPU-heavy (docs/distributed.md has its history).
describe.skipIf(process.env.TEST_CLUSTER_FAILOVER !== '1')('Redis Cluster failover', () => {
  beforeAll(async () => {
    fixture = taskFixture();
    servers = await new TestRedisCluster(7180, 3, 1).start();
    stack = await startFailoverStack(fixture, servers.env, prefix, { LOG_LEVEL: process.env.FAILOVER_LOG_LEVEL ?? 'silent' });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await servers?.stop();
    fixture?.repository.remove();
  });

  it("SIGKILL of the queue's master under load: quick 503s, both gateways back, no key run twice, every task finished", async () => {
    const queueSlot = keySlot(redisKeys(prefix).waiting(inferQueueName('echo', '1')).wait);
    let oldMaster = 0;
    const outcome = await failoverUnderLoad(
      stack,
      async () => {
        oldMaster = await servers.killMasterOf(queueSlot);
      },
      5_000,
    );
    // The replica now serves the queue's slot.
    expect(servers.ownerOf(queueSlot)).not.toBe(oldMaster);
    console.log(
      `cluster failover: ${outcome.requests} requests, ${outcome.refused} answered 503 (${outcome.refusedAtOnce} at once), back ${outcome.resumedMs} ms after the kill`,
    );
  }, 120_000);
});
