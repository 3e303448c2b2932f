/**
 * `npm run bench:redis-ops`: the Redis work behind each request in distributed mode, on a
 * private redis-server (port 7250, so nothing else's commands are counted), one gateway and
 * one worker process, the demo MLP. Before each measured run CONFIG RESETSTAT; after it
 * INFO commandstats and INFO cpu: commands, Lua scripts and server CPU per answered request,
 * at 1 connection (one request at a time: every request is its own job), 8 and 64. Each queue
 * engine (QUEUE_ENGINE: bullmq, streams; REDIS_OPS_ENGINES picks) runs its own gateway and worker,
 * the engines taking turns round by round (A B, then B A), so both see the same machine.
 * REDIS_OPS_LABEL names the result files (bench/results/redis-ops[-label].{json,md}).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RedisProcess, baseArgs, serverFolder } from '../test/helpers/redis-process.js';
import { withDistributed } from './distributed.js';
import { runLoad, type LoadResult } from './load.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { row } from './markdown.js';
import { ServerStats, perRequest, type WorkPerRequest } from './redis-server-stats.js';
import { makeRequestBodies } from './request-bodies.js';
import { INFER_PATH, RESULTS_DIR, settings } from './settings.js';

const PORT = Number(process.env.REDIS_OPS_PORT ?? 7250);
const CONNECTIONS = [1, 8, 64];
const ROUNDS = Number(process.env.REDIS_OPS_ROUNDS ?? 2);
const LABEL = process.env.REDIS_OPS_LABEL ?? '';
const ENGINES = (process.env.REDIS_OPS_ENGINES ?? 'bullmq,streams').split(',').map((engine) => engine.trim());
const log = (message: string): void => console.log(`[redis-ops ${new Date().toISOString().slice(11, 19)}] ${message}`);

export interface OpsRun {
  readonly engine: string;
  readonly connections: number;
  readonly round: number;
  readonly requestsPerSecond: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly loadAverageBefore: number;
  readonly perRequest: WorkPerRequest;
  /** What one Redis core could carry at this CPU per request: 1e6 / cpuMicros. */
  readonly requestsPerRedisCore: number;
}

async function measure(
  engine: string,
  url: string,
  connections: number,
  round: number,
  bodies: string[],
  stats: ServerStats,
): Promise<OpsRun> {
  const loadAverageBefore = currentLoadAverage();
  const target = { url, path: INFER_PATH, bodies };
  await runLoad(target, connections, settings.warmupSeconds, 0);
  await stats.begin();
  const load: LoadResult = await runLoad(target, connections, settings.durationSeconds, 0);
  const work = perRequest(await stats.end(), load.responses2xx);
  return {
    engine,
    connections,
    round,
    requestsPerSecond: load.requestsPerSecond,
    failed: load.non2xx + load.errors + load.timeouts,
    p50Ms: load.latencyMs.p50,
    loadAverageBefore,
    perRequest: work,
    requestsPerRedisCore: Math.round(1e6 / Math.max(1, work.cpuMicros)),
  };
}

function markdown(results: {
  measuredAt: string;
  machine: ReturnType<typeof machineInfo>;
  durationSeconds: number;
  runs: OpsRun[];
  label: string;
}): string {
  const top = (work: WorkPerRequest): string =>
    Object.entries(work.byCommand)
      .slice(0, 8)
      .map(([name, calls]) => `${name} ${calls}`)
      .join(', ');
  return [
    `# Redis work per request${results.label ? ` (${results.label})` : ''}`,
    '',
    `${results.measuredAt}, ${results.machine.cpuModel}, ${results.machine.cores} cores shared by redis-server, the gateway, the worker and the load`,
    `generator (commit ${results.machine.gitCommit}). Private redis-server, one gateway and one worker process, mlp-classifier, ${results.durationSeconds} s per run;`,
    'Each engine (QUEUE_ENGINE) runs its own gateway and worker; the engines take turns round by round.',
    'CONFIG RESETSTAT before each run, INFO commandstats and INFO cpu (used_cpu_sys + used_cpu_user) after, divided by the 2xx answers.',
    'Redis CPU includes reading and writing sockets, so it rises on a loaded machine; the load average before each run is listed.',
    '',
    row([
      'engine',
      'connections',
      'round',
      'req/s',
      'failed',
      'commands / req',
      'scripts / req',
      'Redis CPU µs / req',
      'in scripts µs / req',
      'socket reads / req',
      'req/s per Redis core',
      'load avg',
      'commands per request',
    ]),
    row(Array(13).fill('---')),
    ...results.runs.map((r) =>
      row([
        r.engine,
        r.connections,
        r.round,
        r.requestsPerSecond,
        r.failed,
        r.perRequest.commands,
        r.perRequest.scripts,
        r.perRequest.cpuMicros,
        r.perRequest.scriptMicros,
        r.perRequest.reads,
        r.requestsPerRedisCore,
        r.loadAverageBefore,
        top(r.perRequest),
      ]),
    ),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const bodies = makeRequestBodies(settings.bodyCount).map((body) => body.json);
  const folder = serverFolder('bench-redis-ops');
  const server = new RedisProcess(PORT, baseArgs(PORT), folder.dir);
  await server.start();
  const redisUrl = `redis://127.0.0.1:${PORT}`;
  const stats = new ServerStats(redisUrl);
  const runs: OpsRun[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round += 1) {
      const order = round % 2 === 1 ? ENGINES : [...ENGINES].reverse();
      for (const engine of order) {
        const env = { QUEUE_ENGINE: engine };
        await withDistributed({ redisUrl, prefix: `swops-${randomUUID().slice(0, 8)}`, env }, async (d) => {
          for (const connections of CONNECTIONS) {
            const run = await measure(engine, d.url, connections, round, bodies, stats);
            const w = run.perRequest;
            log(
              `${engine} ${connections} conn round ${round}: ${run.requestsPerSecond} req/s, ${w.commands} commands, ${w.scripts} scripts, ${w.reads} socket reads, ${w.cpuMicros} µs Redis CPU per request (load ${run.loadAverageBefore})`,
            );
            runs.push(run);
          }
          const logs = d.logs();
          if (logs.gateway || logs.worker) log(`process output:\n${logs.gateway}\n${logs.worker}`);
        });
      }
    }
  } finally {
    await stats.close();
    await server.kill();
    folder.remove();
  }
  const results = {
    measuredAt: new Date().toISOString(),
    label: LABEL,
    machine: machineInfo(),
    durationSeconds: settings.durationSeconds,
    runs,
  };
  const name = LABEL ? `redis-ops-${LABEL}` : 'redis-ops';
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, `${name}.md`), markdown(results));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
