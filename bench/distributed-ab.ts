/**
 * `npm run bench:distributed-ab`: embedded gateway and distributed stack (gateway + worker
 * + Redis) started side by side, then measured in alternating runs at 64 connections, so
 * the ratio of the two is read from runs seconds apart on a shared, noisy machine.
 * A development tool for the distributed hot path; `npm run bench` is the record.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { withChildServer } from './child-server.js';
import { withDistributed } from './distributed.js';
import { runLoad, type LoadTarget } from './load.js';
import { RedisProbe } from './redis-probe.js';
import { makeRequestBodies } from './request-bodies.js';
import { INFER_PATH, MODEL_NAME, REDIS_URL, REPO_ROOT, settings } from './settings.js';

const ROUNDS = Number(process.env.AB_ROUNDS ?? 3);
const SECONDS = settings.durationSeconds;
const log = (message: string): void => console.log(`[ab ${new Date().toISOString().slice(11, 19)}] ${message}`);

async function main(): Promise<void> {
  const bodies = makeRequestBodies(settings.bodyCount).map((body) => body.json);
  const prefix = `swab-${randomUUID().slice(0, 8)}`;
  const probe = await RedisProbe.connect(REDIS_URL);
  const redisPid = await probe.localServerPid();
  const embeddedEnv = { LOAD_MODELS: MODEL_NAME, LOG_LEVEL: 'warn', CPU_COUNT: String(settings.cpuCount), REDIS_URL: '', MODEL_REPOSITORY: resolve(REPO_ROOT, 'models') };
  const ratios: number[] = [];
  try {
    await withChildServer(
      { name: 'embedded', script: resolve(REPO_ROOT, 'dist', 'gateway', 'server.js'), cwd: REPO_ROOT, env: embeddedEnv, readyPath: '/v2/health/ready', readyTimeoutMs: 120_000 },
      (embedded) =>
        withDistributed({ redisUrl: REDIS_URL, prefix }, async (d) => {
          const e: LoadTarget = { url: embedded.url, path: INFER_PATH, bodies };
          const q: LoadTarget = { url: d.url, path: INFER_PATH, bodies };
          await runLoad(e, settings.highConnections, settings.warmupSeconds, 0);
          await runLoad(q, settings.highConnections, settings.warmupSeconds, 0);
          for (let round = 0; round < ROUNDS; round += 1) {
            const a = await runLoad(e, settings.highConnections, SECONDS, 0, embedded.pid);
            const others = { worker: d.workerPid, ...(redisPid === undefined ? {} : { redis: redisPid }) };
            const b = await runLoad(q, settings.highConnections, SECONDS, 0, d.gatewayPid, others);
            ratios.push(b.requestsPerSecond / a.requestsPerSecond);
            log(
              `round ${round + 1}: embedded ${a.requestsPerSecond} req/s (cpu ${a.serverCpuPercent} %), distributed ${b.requestsPerSecond} req/s ` +
                `(gateway ${b.serverCpuPercent} %, worker ${b.otherCpuPercent?.worker} %, redis ${b.otherCpuPercent?.redis} %, client ${b.clientCpuPercent} %, p50 ${b.latencyMs.p50} ms, failed ${b.non2xx + b.errors}) -> ${(b.requestsPerSecond / a.requestsPerSecond).toFixed(3)}`,
            );
          }
        }),
    );
  } finally {
    await probe.deletePrefix(prefix).catch(() => undefined);
    await probe.close();
  }
  const mean = ratios.reduce((sum, r) => sum + r, 0) / ratios.length;
  log(`distributed / embedded: ${ratios.map((r) => r.toFixed(3)).join(', ')} (mean ${mean.toFixed(3)})`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
