/**
 * `npm run bench:redis-partitions`: one hot model version served through 1 and then 3 queues
 * (queue_partitions) on a private 3-master Redis Cluster (ports 7160-7162), one gateway and one
 * worker process, 64 connections. Per master: commands, Lua scripts and server CPU during the
 * run (CONFIG RESETSTAT before, INFO commandstats / INFO cpu after), and which master holds each
 * partition. Every server, process and the load generator share this machine's cores, so this
 * shows how the queue work spreads over the shards, not a throughput gain.
 */
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { TestRedisCluster } from '../test/helpers/redis-cluster.js';
import { keySlot } from '../workers/queue/key-slot.js';
import { inferQueueNames } from '../workers/queue/queue-names.js';
import { withDistributed } from './distributed.js';
import { runLoad } from './load.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { row } from './markdown.js';
import { ServerStats, perRequest } from './redis-server-stats.js';
import { makeRequestBodies } from './request-bodies.js';
import { MODEL_NAME, REPO_ROOT, RESULTS_DIR, settings } from './settings.js';

const BASE_PORT = 7160;
const CONNECTIONS = 64;
const ROUNDS = Number(process.env.REDIS_PARTITIONS_ROUNDS ?? 1);
const PATH = `/v2/models/${MODEL_NAME}/versions/1/infer`;
const log = (message: string): void => console.log(`[redis-partitions ${new Date().toISOString().slice(11, 19)}] ${message}`);

interface MasterWork {
  readonly port: number;
  readonly partitionsHeld: number;
  readonly commands: number;
  readonly scripts: number;
  readonly cpuSeconds: number;
  /** This master's share of all the masters' scripts in the run, percent. */
  readonly scriptShare: number;
}

interface PartitionRun {
  readonly partitions: number;
  readonly round: number;
  readonly requestsPerSecond: number;
  readonly failed: number;
  readonly loadAverageBefore: number;
  readonly masters: MasterWork[];
}

/** Which master (by port) owns a slot, from CLUSTER SLOTS. */
async function slotOwners(port: number): Promise<(slot: number) => number> {
  const redis = new Redis(port, '127.0.0.1');
  const ranges = await redis.cluster('SLOTS');
  redis.disconnect();
  return (slot) => ranges.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1] ?? -1;
}

/** A model repository holding the demo MLP with queue_partitions set. */
function repositoryWith(partitions: number): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sy-partitions-'));
  cpSync(join(REPO_ROOT, 'models', MODEL_NAME), join(dir, MODEL_NAME), { recursive: true });
  const path = join(dir, MODEL_NAME, 'config.json');
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), queue_partitions: partitions }, null, 2));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function measure(cluster: TestRedisCluster, partitions: number, round: number, bodies: string[]): Promise<PartitionRun> {
  const repository = repositoryWith(partitions);
  const stats = cluster.nodes.map((node) => new ServerStats(`redis://127.0.0.1:${node.port}`));
  const owner = await slotOwners(cluster.basePort);
  const held = inferQueueNames(MODEL_NAME, '1', partitions).map((queue) => owner(keySlot(queue)));
  const loadAverageBefore = currentLoadAverage();
  try {
    const env = { ...cluster.env, MODEL_REPOSITORY: repository.dir };
    return await withDistributed({ redisUrl: cluster.url, prefix: `swpart-${randomUUID().slice(0, 8)}`, env }, async (d) => {
      const target = { url: d.url, path: PATH, bodies };
      await runLoad(target, CONNECTIONS, settings.warmupSeconds, 0);
      await Promise.all(stats.map((s) => s.begin()));
      const load = await runLoad(target, CONNECTIONS, settings.durationSeconds, 0);
      const works = await Promise.all(stats.map((s) => s.end()));
      const perMaster = works.map((work) => perRequest(work, 1));
      const allScripts = perMaster.reduce((sum, w) => sum + w.scripts, 0);
      return {
        partitions,
        round,
        requestsPerSecond: load.requestsPerSecond,
        failed: load.non2xx + load.errors + load.timeouts,
        loadAverageBefore,
        masters: cluster.nodes.map((node, i) => ({
          port: node.port,
          partitionsHeld: held.filter((port) => port === node.port).length,
          commands: perMaster[i]!.commands,
          scripts: perMaster[i]!.scripts,
          cpuSeconds: works[i]!.cpuSeconds,
          scriptShare: allScripts > 0 ? Math.round((perMaster[i]!.scripts / allScripts) * 1000) / 10 : 0,
        })),
      };
    });
  } finally {
    await Promise.all(stats.map((s) => s.close()));
    repository.remove();
  }
}

function markdown(results: { measuredAt: string; machine: ReturnType<typeof machineInfo>; runs: PartitionRun[] }): string {
  return [
    '# One hot model over a 3-master Redis Cluster: 1 vs 3 queue partitions',
    '',
    `${results.measuredAt}, ${results.machine.cpuModel}, ${results.machine.cores} cores shared by the three redis-servers, the gateway, the worker and the load generator`,
    `(commit ${results.machine.gitCommit}). mlp-classifier version 1, ${CONNECTIONS} connections, ${settings.durationSeconds} s per run. Per master: calls during the run`,
    '(CONFIG RESETSTAT before, INFO commandstats after; gateway registry polls and worker heartbeats included) and server CPU (INFO cpu).',
    'On 2 cores this shows how the queue work spreads over the shards, not a throughput gain: every shard competes for the same cores.',
    '',
    row([
      'partitions',
      'round',
      'req/s',
      'failed',
      'load avg',
      'master',
      'partitions held',
      'commands in the run',
      'scripts in the run',
      'share of scripts %',
      'CPU s',
    ]),
    row(Array(11).fill('---')),
    ...results.runs.flatMap((r) =>
      r.masters.map((m) =>
        row([
          r.partitions,
          r.round,
          r.requestsPerSecond,
          r.failed,
          r.loadAverageBefore,
          m.port,
          m.partitionsHeld,
          m.commands,
          m.scripts,
          m.scriptShare,
          m.cpuSeconds,
        ]),
      ),
    ),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const bodies = makeRequestBodies(settings.bodyCount).map((body) => body.json);
  const cluster = await new TestRedisCluster(BASE_PORT, 3).start();
  const runs: PartitionRun[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const partitions of [1, 3]) {
        const run = await measure(cluster, partitions, round, bodies);
        const shares = run.masters.map((m) => `${m.port}: ${m.scriptShare}% (${m.partitionsHeld} held)`).join(', ');
        log(`${partitions} partition(s) round ${round}: ${run.requestsPerSecond} req/s, ${run.failed} failed; scripts by master ${shares}`);
        runs.push(run);
      }
    }
  } finally {
    await cluster.stop();
  }
  const results = {
    measuredAt: new Date().toISOString(),
    machine: machineInfo(),
    connections: CONNECTIONS,
    durationSeconds: settings.durationSeconds,
    runs,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'redis-partitions.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, 'redis-partitions.md'), markdown(results));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
