/**
 * `npm run bench:redis-breakdown`: where Redis CPU goes at 1 connection, for one queue engine
 * (QUEUE_ENGINE, default streams) on a private redis-server (port REDIS_BREAKDOWN_PORT, 7252).
 * First the idle work (gateway and worker connected, no traffic: heartbeats, registry polls,
 * blocking-read timeouts, upkeep timers), then one connection of load; for each, per command
 * the calls and microseconds (INFO commandstats), socket reads and writes (INFO stats) and the
 * server's CPU. The idle cost per second is also shown spread over the requests of a loaded second.
 * Prints a markdown table; writes nothing.
 */
import { randomUUID } from 'node:crypto';
import { RedisProcess, baseArgs, serverFolder } from '../test/helpers/redis-process.js';
import { withDistributed } from './distributed.js';
import { runLoad } from './load.js';
import { currentLoadAverage } from './machine-info.js';
import { ServerStats, type ServerWork } from './redis-server-stats.js';
import { makeRequestBodies } from './request-bodies.js';
import { INFER_PATH, settings } from './settings.js';

const PORT = Number(process.env.REDIS_BREAKDOWN_PORT ?? 7252);
const ENGINE = process.env.QUEUE_ENGINE ?? 'streams';
const SECONDS = settings.durationSeconds;

async function main(): Promise<void> {
  const bodies = makeRequestBodies(settings.bodyCount).map((body) => body.json);
  const folder = serverFolder('bench-redis-breakdown');
  const server = new RedisProcess(PORT, baseArgs(PORT), folder.dir);
  await server.start();
  const redisUrl = `redis://127.0.0.1:${PORT}`;
  const stats = new ServerStats(redisUrl);
  try {
    await withDistributed({ redisUrl, prefix: `swbd-${randomUUID().slice(0, 8)}`, env: { QUEUE_ENGINE: ENGINE } }, async (d) => {
      const target = { url: d.url, path: INFER_PATH, bodies };
      await runLoad(target, 1, settings.warmupSeconds, 0);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const load = currentLoadAverage();
      await stats.begin();
      await new Promise((resolve) => setTimeout(resolve, SECONDS * 1_000));
      const idle = await stats.end();
      await stats.begin();
      const run = await runLoad(target, 1, SECONDS, 0);
      const busy = await stats.end();
      const requests = run.responses2xx;
      console.log(`${ENGINE}: ${run.requestsPerSecond} req/s at 1 connection, load average ${load}`);
      console.log(table(idle, busy, requests));
    });
  } finally {
    await stats.close();
    await server.kill();
    folder.remove();
  }
}

function table(idle: ServerWork, busy: ServerWork, requests: number): string {
  const perSecond = (value: number): string => (value / SECONDS).toFixed(2);
  const perRequest = (value: number): string => (value / Math.max(1, requests)).toFixed(2);
  const idlePerRequest = (value: number): string => ((value / SECONDS) * (SECONDS / Math.max(1, requests))).toFixed(2);
  const names = [...new Set([...Object.keys(busy.calls), ...Object.keys(idle.calls)])].sort(
    (a, b) => (busy.usec[b] ?? 0) - (busy.usec[a] ?? 0),
  );
  const lines = [
    '| what | idle /s | idle µs /s | loaded calls / req | loaded µs / req | idle share µs / req |',
    '| --- | --- | --- | --- | --- | --- |',
    ...names.map(
      (name) =>
        `| ${name} | ${perSecond(idle.calls[name] ?? 0)} | ${perSecond(idle.usec[name] ?? 0)} | ${perRequest(busy.calls[name] ?? 0)} | ${perRequest(busy.usec[name] ?? 0)} | ${idlePerRequest(idle.usec[name] ?? 0)} |`,
    ),
    `| all commands | ${perSecond(sum(idle.calls))} | ${perSecond(sum(idle.usec))} | ${perRequest(sum(busy.calls))} | ${perRequest(sum(busy.usec))} | ${idlePerRequest(sum(idle.usec))} |`,
    `| socket reads | ${perSecond(idle.reads)} | | ${perRequest(busy.reads)} | | |`,
    `| socket writes | ${perSecond(idle.writes)} | | ${perRequest(busy.writes)} | | |`,
    `| server CPU µs | | ${perSecond(idle.cpuSeconds * 1e6)} | | ${perRequest(busy.cpuSeconds * 1e6)} | ${idlePerRequest(idle.cpuSeconds * 1e6)} |`,
  ];
  return lines.join('\n');
}

function sum(values: Record<string, number>): number {
  return Object.values(values).reduce((total, value) => total + value, 0);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
