import { afterEach, describe, expect, it } from 'vitest';
import type { RedisTarget } from '../../workers/config.js';
import { connect, type RedisClient } from '../../workers/queue/redis-connection.js';
import { delayProxy, type DelayProxy } from '../helpers/delay-proxy.js';
import { SENTINEL_MASTER, TestSentinelGroup } from '../helpers/redis-sentinel.js';

/**
 * Every connection Switchyard opens through Sentinel (both roles) must reach the promoted
 * master after a failover, however the old master went away. Real redis-server processes:
 * one master, one replica, three sentinels per group (ports 7150-7154 and 7170-7174).
 */
let group: TestSentinelGroup | undefined;
let proxies: DelayProxy[] = [];
let clients: RedisClient[] = [];

afterEach(async () => {
  for (const client of clients) client.disconnect();
  clients = [];
  await Promise.all(proxies.map((proxy) => proxy.close()));
  proxies = [];
  await group?.stop();
  group = undefined;
});

function target(sentinelPorts: readonly number[]): RedisTarget {
  return { mode: 'sentinel', nodes: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })), sentinelMaster: SENTINEL_MASTER, db: 0 };
}

function open(count: number, sentinelPorts: readonly number[]): RedisClient[] {
  clients = Array.from({ length: count }, (_, i) => connect(target(sentinelPorts), i % 2 === 0 ? 'serving' : 'durable', `switch-${i}`));
  return clients;
}

/** Each connection's answer to one write, or why it failed; a write that hangs counts as 'no answer'. */
async function writeEach(connections: readonly RedisClient[], withinMs: number): Promise<Map<string, number>> {
  const outcomes = await Promise.all(
    connections.map((client, i) =>
      Promise.race([
        client.set(`switch-${i}`, String(i)).then(
          () => 'ok',
          (error: Error) => error.message,
        ),
        new Promise<string>((resolve) => setTimeout(() => resolve('no answer'), withinMs)),
      ]),
    ),
  );
  const counts = new Map<string, number>();
  for (const outcome of outcomes) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  return counts;
}

async function untilAllWrite(connections: readonly RedisClient[], timeoutMs: number): Promise<Map<string, number>> {
  const end = Date.now() + timeoutMs;
  let last = new Map<string, number>();
  while (Date.now() < end) {
    last = await writeEach(connections, 1_000);
    if (last.get('ok') === connections.length) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return last;
}

async function allReady(connections: readonly RedisClient[]): Promise<void> {
  const end = Date.now() + 15_000;
  while (connections.some((c) => c.status !== 'ready') && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(connections.map((c) => c.status).filter((s) => s !== 'ready')).toEqual([]);
}

describe('Sentinel connections follow a failover', () => {
  it('master SIGKILLed while 200 connections reconnect through sentinels 20 ms away: every one reaches the new master', async () => {
    group = await new TestSentinelGroup(7150).start();
    // A slow link to the sentinels makes each reconnect's lookup long, so the sentinels'
    // +switch-master lands in the middle of lookups, where ioredis's own detector gave up.
    proxies = await Promise.all(group.sentinels.map((sentinel) => delayProxy(sentinel.port, 20)));
    const connections = open(
      200,
      proxies.map((proxy) => proxy.port),
    );
    await allReady(connections);
    const oldMaster = group.masterPort();
    await group.killMaster();

    const outcome = await untilAllWrite(connections, 25_000);
    expect(group.masterPort()).not.toBe(oldMaster);
    expect(Object.fromEntries(outcome)).toEqual({ ok: connections.length });
    expect(connections.filter((c) => c.status === 'end')).toEqual([]);
  }, 60_000);

  it('master stops answering with its sockets open (SIGSTOP): connections follow the promotion instead of waiting on it', async () => {
    group = await new TestSentinelGroup(7170).start();
    const connections = open(
      20,
      group.sentinels.map((sentinel) => sentinel.port),
    );
    await allReady(connections);
    const oldMaster = group.pauseMaster();
    const pausedAt = Date.now();

    // The old master stays stopped throughout: only the announcement can move the connections.
    const outcome = await untilAllWrite(connections, 20_000);
    expect(group.masterPort()).not.toBe(oldMaster);
    expect(Object.fromEntries(outcome)).toEqual({ ok: connections.length });
    console.log(`sentinel switch: every connection wrote to the new master ${Date.now() - pausedAt} ms after the master stopped`);
  }, 60_000);
});
