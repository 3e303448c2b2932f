/**
 * `npm run bench:distributed-ab`: the full bench's paired rounds alone (embedded gateway
 * and distributed stack side by side, alternating 64-connection runs), with more rounds
 * and per-process CPU. A development tool for the distributed hot path; `npm run bench`
 * is the record.
 */
import { randomUUID } from 'node:crypto';
import { withChildServer } from './child-server.js';
import { withDistributed } from './distributed.js';
import { embeddedGatewayOptions } from './embedded-gateway.js';
import { measurePairedRounds } from './paired-rounds.js';
import { RedisProbe } from './redis-probe.js';
import { makeRequestBodies } from './request-bodies.js';
import { INFER_PATH, REDIS_URL, settings } from './settings.js';
import { mean } from './stats.js';

const ROUNDS = Number(process.env.AB_ROUNDS ?? 3);
const log = (message: string): void => console.log(`[ab ${new Date().toISOString().slice(11, 19)}] ${message}`);

async function main(): Promise<void> {
  const bodies = makeRequestBodies(settings.bodyCount).map((body) => body.json);
  const prefix = `swab-${randomUUID().slice(0, 8)}`;
  const probe = await RedisProbe.connect(REDIS_URL);
  const redisPid = await probe.localServerPid();
  try {
    const paired = await withChildServer(embeddedGatewayOptions('embedded'), (embedded) =>
      withDistributed({ redisUrl: REDIS_URL, prefix }, (d) =>
        measurePairedRounds(
          { target: { url: embedded.url, path: INFER_PATH, bodies }, serverPid: embedded.pid },
          {
            target: { url: d.url, path: INFER_PATH, bodies },
            serverPid: d.gatewayPid,
            otherPids: { worker: d.workerPid, ...(redisPid === undefined ? {} : { redis: redisPid }) },
          },
          {
            rounds: ROUNDS,
            seconds: settings.durationSeconds,
            warmupSeconds: settings.warmupSeconds,
            connections: settings.highConnections,
          },
          ({ embedded: a, distributed: b, ratio }, index) =>
            log(
              `round ${index + 1}: embedded ${a.requestsPerSecond} req/s (cpu ${a.serverCpuPercent} %), distributed ${b.requestsPerSecond} req/s ` +
                `(gateway ${b.serverCpuPercent} %, worker ${b.otherCpuPercent?.worker} %, redis ${b.otherCpuPercent?.redis} %, client ${b.clientCpuPercent} %, p50 ${b.latencyMs.p50} ms, failed ${b.non2xx + b.errors}) -> ${ratio}`,
            ),
        ),
      ),
    );
    const ratios = paired.rounds.map((r) => r.ratio);
    log(`distributed / embedded: ${ratios.join(', ')} (median ${paired.medianRatio}, mean ${mean(ratios).toFixed(3)})`);
  } finally {
    await probe.deletePrefix(prefix).catch(() => undefined);
    await probe.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
