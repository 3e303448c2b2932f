/**
 * `npm run bench:redis-modes`: distributed-mode throughput on one Redis, a 1-master Redis
 * Cluster and a 3-master Redis Cluster (private servers on ports 7150-7154), the two
 * versions of the demo MLP loaded at once (their queues hash to different masters).
 * On a small machine this shows the Cluster's correctness and overhead, not scaling:
 * every server shares the same cores with the gateway, the worker and the load generator.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRedisCluster } from '../test/helpers/redis-cluster.js';
import { RedisProcess, baseArgs, serverFolder } from '../test/helpers/redis-process.js';
import { withDistributed } from './distributed.js';
import { runLoad, type LoadResult } from './load.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { makeRequestBodies } from './request-bodies.js';
import { MODEL_NAME, RESULTS_DIR, settings } from './settings.js';

const ROUNDS = Number(process.env.REDIS_MODES_ROUNDS ?? 2);
const CONNECTIONS_PER_VERSION = 32;
const log = (message: string): void => console.log(`[redis-modes ${new Date().toISOString().slice(11, 19)}] ${message}`);

interface Servers {
  readonly name: string;
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

async function single(port: number): Promise<Servers> {
  const folder = serverFolder('bench-single');
  const server = new RedisProcess(port, baseArgs(port), folder.dir);
  await server.start();
  return { name: 'single', env: { REDIS_URL: `redis://127.0.0.1:${port}` }, stop: async () => (await server.kill(), folder.remove()) };
}

async function cluster(basePort: number, masters: number): Promise<Servers> {
  const servers = await new TestRedisCluster(basePort, masters).start();
  return { name: `cluster-${masters}`, env: servers.env, stop: () => servers.stop() };
}

interface Run {
  readonly mode: string;
  readonly round: number;
  readonly requestsPerSecond: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly loadAverageBefore: number;
}

async function measure(servers: Servers, round: number, bodies: string[]): Promise<Run> {
  const prefix = `swmodes-${randomUUID().slice(0, 8)}`;
  const loadAverageBefore = currentLoadAverage();
  const results = await withDistributed({ redisUrl: servers.env.REDIS_URL!, prefix, env: servers.env }, (d) =>
    Promise.all(
      ['1', '2'].map((version) =>
        runLoad(
          { url: d.url, path: `/v2/models/${MODEL_NAME}/versions/${version}/infer`, bodies },
          CONNECTIONS_PER_VERSION,
          settings.durationSeconds,
          settings.warmupSeconds,
        ),
      ),
    ),
  );
  const sum = (pick: (r: LoadResult) => number): number => results.reduce((total, r) => total + pick(r), 0);
  return {
    mode: servers.name,
    round,
    requestsPerSecond: Math.round(sum((r) => r.requestsPerSecond)),
    failed: sum((r) => r.non2xx + r.errors + r.timeouts),
    p50Ms: Math.max(...results.map((r) => r.latencyMs.p50)),
    p99Ms: Math.max(...results.map((r) => r.latencyMs.p99)),
    loadAverageBefore,
  };
}

async function main(): Promise<void> {
  const bodies = makeRequestBodies(settings.bodyCount).map((body) => body.json);
  const starts: (() => Promise<Servers>)[] = [() => single(7150), () => cluster(7151, 1), () => cluster(7152, 3)];
  const runs: Run[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const start of starts) {
      const servers = await start();
      try {
        const run = await measure(servers, round, bodies);
        log(`${run.mode} round ${round}: ${run.requestsPerSecond} req/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, failed ${run.failed}`);
        runs.push(run);
      } finally {
        await servers.stop();
      }
    }
  }
  const modes = [...new Set(runs.map((r) => r.mode))].map((mode) => {
    const mine = runs.filter((r) => r.mode === mode);
    const mean = Math.round(mine.reduce((s, r) => s + r.requestsPerSecond, 0) / mine.length);
    return { mode, meanRequestsPerSecond: mean, failed: mine.reduce((s, r) => s + r.failed, 0) };
  });
  const results = {
    measuredAt: new Date().toISOString(),
    machine: machineInfo(),
    connections: 2 * CONNECTIONS_PER_VERSION,
    durationSeconds: settings.durationSeconds,
    runs,
    modes,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'redis-modes.json'), `${JSON.stringify(results, null, 2)}\n`);
  const lines = [
    '# Distributed throughput: one Redis, 1-master Cluster, 3-master Cluster',
    '',
    `${results.measuredAt}, ${results.machine.cpuModel}, ${results.machine.cores} cores shared by every server, the gateway, the worker and the load`,
    `generator (and, when measured, other work on the machine): this shows the Cluster's correctness and overhead, not scaling.`,
    `Two model versions (two queues, on different masters of the 3-master cluster), ${results.connections} connections, ${results.durationSeconds} s per run.`,
    'Each run lists the load average before it: above the core count, other work shared the CPUs and runs are not comparable.',
    '',
    '| mode | round | req/s | p50 ms | p99 ms | failed | load average before |',
    '|---|---|---|---|---|---|---|',
    ...runs.map(
      (r) => `| ${r.mode} | ${r.round} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.failed} | ${r.loadAverageBefore} |`,
    ),
    '',
    ...modes.map((m) => `- ${m.mode}: mean ${m.meanRequestsPerSecond} req/s, ${m.failed} failed`),
    '',
  ];
  writeFileSync(join(RESULTS_DIR, 'redis-modes.md'), lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
