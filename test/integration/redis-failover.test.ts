import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failoverUnderLoad, startFailoverStack } from '../helpers/failover-load.js';
import type { InProcessCluster } from '../helpers/in-process-cluster.js';
import { TestSentinelGroup } from '../helpers/redis-sentinel.js';
import { testPrefix } from '../helpers/redis.js';
import { taskFixture } from '../helpers/task-fixture.js';

/**
 * A Sentinel group of its own (ports 7130-7134): under steady load with Idempotency-Keys the
 * master is SIGKILLed. Requests meanwhile get a quick 503, service resumes after the
 * promotion on both gateways, and no key runs twice.
 */
const fixture = taskFixture();
const prefix = testPrefix();
let servers: TestSentinelGroup;
let stack: InProcessCluster;

beforeAll(async () => {
  servers = await new TestSentinelGroup(7130).start();
  stack = await startFailoverStack(fixture, servers.env, prefix);
});
afterAll(async () => {
  await stack?.close();
  await servers?.stop();
  fixture.repository.remove();
});

describe('Redis Sentinel failover', () => {
  it('SIGKILL of the master under load: quick 503s, back within 15 s, no key run twice, refused keys retryable, every task finished', async () => {
    let oldMaster = 0;
    const outcome = await failoverUnderLoad(stack, async () => {
      oldMaster = await servers.killMaster();
    });
    expect(servers.masterPort()).not.toBe(oldMaster);
    // With one master, every request meets the outage.
    expect(outcome.refusedAtOnce).toBeGreaterThan(0);
    console.log(
      `failover: ${outcome.requests} requests, ${outcome.refused} answered 503 (${outcome.refusedAtOnce} at once), back ${outcome.resumedMs} ms after the kill`,
    );
  }, 120_000);
});
