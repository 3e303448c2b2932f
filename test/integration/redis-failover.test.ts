import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failoverUnderLoad } from '../helpers/failover-load.js';
import { startInProcessCluster, type InProcessCluster } from '../helpers/in-process-cluster.js';
import { TestSentinelGroup } from '../helpers/redis-sentinel.js';
import { testPrefix } from '../helpers/redis.js';
import { TASK_KEYS, bearerKey, taskFixture } from '../helpers/task-fixture.js';
import { QUEUE_ENGINE } from '../helpers/queue-state.js';

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
  const env = {
    ...fixture.env,
    ...servers.env,
    QUEUE_ENGINE,
    REDIS_PREFIX: prefix,
    LOAD_MODELS: 'echo',
    CPU_COUNT: '1',
    HEARTBEAT_MS: '200',
    // A failover can undo a task job's finish: taken over within the test, not the default 45 s.
    TASK_LOCK_DURATION_MS: '4000',
    TASK_STALLED_INTERVAL_MS: '2000',
  };
  stack = await startInProcessCluster(fixture.repository.dir, env, 'echo', bearerKey(TASK_KEYS.admin));
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
