import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { TestRedisCluster } from './helpers/redis-cluster.js';
import { TestSentinelGroup } from './helpers/redis-sentinel.js';

/**
 * Distributed-mode tests need Redis at REDIS_URL (default 127.0.0.1:6379). If nothing
 * answers there, start a local redis-server for the run, or stop with how to get one.
 */
function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.connect(port, host);
  });
}

let started: ChildProcess | undefined;
let servers: TestRedisCluster | TestSentinelGroup | undefined;

/**
 * REDIS_TEST_MODE=cluster|sentinel: the distributed tests run against a 3-master Cluster
 * (ports 7100-7102) or a Sentinel group (7110-7114) started here; the test files read where
 * from the environment this sets (test/helpers/redis.ts). The shared Redis is still started
 * if missing, for the tests that need a single Redis of their own kind.
 */
async function startTestServers(): Promise<void> {
  const mode = process.env.REDIS_TEST_MODE;
  if (!mode || mode === 'single') return;
  if (mode !== 'cluster' && mode !== 'sentinel') throw new Error(`REDIS_TEST_MODE must be single, cluster or sentinel, not "${mode}"`);
  servers = mode === 'cluster' ? await new TestRedisCluster(7100).start() : await new TestSentinelGroup(7110).start();
  Object.assign(process.env, servers.env);
}

export async function setup(): Promise<void> {
  await setupShared();
  await startTestServers();
}

async function setupShared(): Promise<void> {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const port = Number(url.port || 6379);
  if (await answers(url.hostname, port)) return;
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(
      `No Redis answers at ${url.host} and redis-server is not installed. Install it (apt-get install redis-server) or set REDIS_URL.`,
    );
  }
  started = spawn('redis-server', ['--port', String(port), '--bind', url.hostname, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i += 1) {
    if (await answers(url.hostname, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`started redis-server on port ${port}, but it does not answer`);
}

export async function teardown(): Promise<void> {
  started?.kill('SIGTERM');
  await servers?.stop();
}
