/**
 * `npm run bench:distributed-ab`: the full bench's paired rounds alone (embedded gateway
 * and distributed stack side by side, alternating 64-connection runs), with more rounds
 * and per-process CPU, for each queue engine in turn (AB_ENGINES, default `bullmq,streams`:
 * each engine's stack is paired with the same embedded gateway). Writes
 * bench/results/distributed-ab.{json,md}.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withChildServer } from './child-server.js';
import { withDistributed } from './distributed.js';
import { embeddedGatewayOptions } from './embedded-gateway.js';
import { machineInfo } from './machine-info.js';
import { measurePairedRounds, type PairedRounds } from './paired-rounds.js';
import { RedisProbe } from './redis-probe.js';
import { makeRequestBodies } from './request-bodies.js';
import { INFER_PATH, REDIS_URL, RESULTS_DIR, settings } from './settings.js';
import { mean } from './stats.js';

const ROUNDS = Number(process.env.AB_ROUNDS ?? 3);
const ENGINES = (process.env.AB_ENGINES ?? 'bullmq,streams').split(',').filter(Boolean);
/** Issue 17's target for the distributed stack against the embedded gateway. */
const TARGET = 0.8;
const log = (message: string): void => console.log(`[ab ${new Date().toISOString().slice(11, 19)}] ${message}`);

async function pairedFor(
  engine: string,
  embedded: { url: string; pid: number },
  bodies: string[],
  redisPid?: number,
): Promise<PairedRounds> {
  const prefix = `swab-${randomUUID().slice(0, 8)}`;
  const probe = await RedisProbe.connect(REDIS_URL);
  try {
    return await withDistributed({ redisUrl: REDIS_URL, prefix, env: { QUEUE_ENGINE: engine } }, (d) =>
      measurePairedRounds(
        { target: { url: embedded.url, path: INFER_PATH, bodies }, serverPid: embedded.pid },
        {
          target: { url: d.url, path: INFER_PATH, bodies },
          serverPid: d.gatewayPid,
          otherPids: { worker: d.workerPid, ...(redisPid === undefined ? {} : { redis: redisPid }) },
        },
        { rounds: ROUNDS, seconds: settings.durationSeconds, warmupSeconds: settings.warmupSeconds, connections: settings.highConnections },
        ({ embedded: a, distributed: b, ratio }, index) =>
          log(
            `${engine} round ${index + 1}: embedded ${a.requestsPerSecond} req/s (cpu ${a.serverCpuPercent} %), distributed ${b.requestsPerSecond} req/s ` +
              `(gateway ${b.serverCpuPercent} %, worker ${b.otherCpuPercent?.worker} %, redis ${b.otherCpuPercent?.redis} %, client ${b.clientCpuPercent} %, p50 ${b.latencyMs.p50} ms, failed ${b.non2xx + b.errors}) -> ${ratio}`,
          ),
      ),
    );
  } finally {
    await probe.deletePrefix(prefix).catch(() => undefined);
    await probe.close();
  }
}

function markdown(machine: object, results: Record<string, PairedRounds>): string {
  const lines = [
    '# Distributed stack vs embedded gateway, per queue engine',
    '',
    JSON.stringify(machine),
    '',
    `mlp-classifier, JSON bodies, ${settings.highConnections} connections; each round an embedded run and a distributed run seconds apart (the order flipped each round), ` +
      'the same embedded gateway for every engine; CPU: % of one core over the run.',
    '',
    '| engine | round | embedded req/s | distributed req/s | ratio | gateway CPU % | worker CPU % | redis CPU % | distributed p50 ms |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [engine, paired] of Object.entries(results))
    paired.rounds.forEach(({ embedded, distributed, ratio }, index) =>
      lines.push(
        `| ${engine} | ${index + 1} | ${embedded.requestsPerSecond} | ${distributed.requestsPerSecond} | ${ratio} | ${distributed.serverCpuPercent} | ` +
          `${distributed.otherCpuPercent?.worker ?? ''} | ${distributed.otherCpuPercent?.redis ?? ''} | ${distributed.latencyMs.p50} |`,
      ),
    );
  lines.push('');
  for (const [engine, paired] of Object.entries(results))
    lines.push(
      `- **${engine}**: median distributed / embedded **${paired.medianRatio}** (target >= ${TARGET}: ${paired.medianRatio >= TARGET ? 'met' : 'missed'})`,
    );
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const bodies = makeRequestBodies(settings.bodyCount).map((body) => body.json);
  const probe = await RedisProbe.connect(REDIS_URL);
  const redisPid = await probe.localServerPid();
  await probe.close();
  const machine = machineInfo();
  const results: Record<string, PairedRounds> = {};
  await withChildServer(embeddedGatewayOptions('embedded'), async (embedded) => {
    for (const engine of ENGINES) {
      const paired = await pairedFor(engine, embedded, bodies, redisPid);
      results[engine] = paired;
      const ratios = paired.rounds.map((r) => r.ratio);
      log(`${engine}: distributed / embedded ${ratios.join(', ')} (median ${paired.medianRatio}, mean ${mean(ratios).toFixed(3)})`);
    }
  });
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    join(RESULTS_DIR, 'distributed-ab.json'),
    `${JSON.stringify({ machine, targetRatio: TARGET, engines: results }, null, 2)}\n`,
  );
  writeFileSync(join(RESULTS_DIR, 'distributed-ab.md'), markdown(machine, results));
  log(`wrote ${join(RESULTS_DIR, 'distributed-ab.{json,md}')}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
