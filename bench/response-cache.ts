/**
 * `npm run bench:response-cache`: the response cache's hit path against the HTTP ceiling
 * (fastify parsing the same JSON body and sending a gateway-sized reply, no inference),
 * and the same gateway's uncached path for scale. One embedded gateway serves the MLP twice:
 * `mlp-classifier` as shipped (no cache) and `mlp-cached`, the same weights with
 * response_cache on. The bodies are filled into the cache first, so every measured request
 * to `mlp-cached` is a hit (a raw hit: see docs/response-cache.md). Runs alternate (ceiling,
 * hit, uncached) round after round, so each ratio compares runs seconds apart on this shared machine.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startChildServer, type ChildServer } from './child-server.js';
import { embeddedGatewayOptions } from './embedded-gateway.js';
import { runLoad, type LoadResult, type LoadTarget } from './load.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { row } from './markdown.js';
import { makeRequestBodies } from './request-bodies.js';
import { MemoryCacheStore } from '../gateway/cache/memory-cache-store.js';
import { ResponseCache } from '../gateway/cache/response-cache.js';
import { modelConfigSchema } from '../workers/repository/model-config.js';
import { MODEL_NAME, REPO_ROOT, RESULTS_DIR, settings } from './settings.js';
import { median, round } from './stats.js';

const CACHED = 'mlp-cached';
const ROUNDS = Math.max(1, Math.round(Number(process.env.BENCH_CACHE_ROUNDS ?? 10)));
/** Short runs, many rounds: on a shared machine the speed drifts within seconds, and neighbours in a pair should see the same machine. */
const SECONDS = Math.max(1, Number(process.env.BENCH_CACHE_SECONDS ?? 4));
const log = (message: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** A repository with the shipped MLP, and a copy of it whose config turns the cache on. */
function repositoryWithCachedCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cache-bench-'));
  cpSync(resolve(REPO_ROOT, 'models', MODEL_NAME), join(dir, MODEL_NAME), { recursive: true });
  cpSync(resolve(REPO_ROOT, 'models', MODEL_NAME), join(dir, CACHED), { recursive: true });
  const configPath = join(dir, CACHED, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    configPath,
    JSON.stringify(
      { ...config, name: CACHED, response_cache: { enabled: true, max_bytes: 64 * 2 ** 20, ttl_s: 3600, scope: 'global' } },
      null,
      2,
    ),
  );
  return dir;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${name}{model="${CACHED}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** X-Server-Ms (arrival to answer ready, on the gateway) of `count` requests one at a time: what a hit costs the gateway, less sensitive to the machine's load than throughput. */
async function serverMs(target: LoadTarget, count: number): Promise<{ p50: number; p90: number }> {
  const values: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(target.url + target.path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: target.bodies[i % target.bodies.length]!,
    });
    await response.arrayBuffer();
    values.push(Number(response.headers.get('x-server-ms')));
  }
  values.sort((a, b) => a - b);
  return { p50: values[Math.floor(count / 2)]!, p90: values[Math.floor(count * 0.9)]! };
}

/**
 * The server's CPU time per answered request, in µs: what bounds its throughput once it has a
 * core to itself, and much steadier than req/s on a machine other work shares (time taken by
 * other processes is not counted).
 */
function cpuUsPerRequest(run: LoadResult): number {
  return run.responses2xx > 0 ? round((((run.serverCpuPercent ?? 0) / 100) * run.durationSeconds * 1e6) / run.responses2xx, 1) : 0;
}

/**
 * The cache's own work per hit, in process (key: hash of the 512 inputs; lookup; entry decoded
 * into fresh buffers), timed over many hits: what a hit adds to the gateway's pipeline, the part
 * of the gap to the ceiling that is the cache's.
 */
async function cacheWorkPerHitUs(input: Float32Array, iterations = 20_000): Promise<number> {
  const config = modelConfigSchema.parse({
    name: CACHED,
    platform: 'onnx',
    versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
    max_batch_size: 64,
    inputs: [{ name: 'input', datatype: 'FP32', shape: [512] }],
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [10] }],
    price: { usd_per_compute_second: 0 },
    response_cache: { enabled: true, scope: 'tenant' },
  });
  const cache = new ResponseCache(new MemoryCacheStore(), () => undefined);
  const request = {
    requestId: 'r',
    model: CACHED,
    version: '1',
    inputs: [{ name: 'input', datatype: 'FP32' as const, shape: [1, 512], data: input }],
    outputs: [],
    rows: 1,
    signature: '',
    deadline: 0,
    priority: 0,
  };
  const probabilities = { name: 'probabilities', datatype: 'FP32' as const, shape: [1, 10], data: new Float32Array(10).fill(0.1) };
  cache.put((await cache.slot(request, config, 'bench'))!, {
    model: CACHED,
    version: '1',
    outputs: [probabilities],
    timings: { queueMs: 0, computeMs: 0, batchSize: 1, batchRows: 1 },
  });
  await new Promise((resolve) => setImmediate(resolve));
  const hitOnce = async (): Promise<void> => {
    if (!(await cache.get((await cache.slot(request, config, 'bench'))!))) throw new Error('the bench entry was not a hit');
  };
  for (let i = 0; i < 2_000; i += 1) await hitOnce();
  const started = performance.now();
  for (let i = 0; i < iterations; i += 1) await hitOnce();
  return round(((performance.now() - started) * 1000) / iterations, 2);
}

interface Round {
  readonly ceiling: LoadResult;
  readonly hit: LoadResult;
  readonly uncached: LoadResult;
  readonly hitOverCeiling: number;
  readonly cpuUsPerRequest: { readonly ceiling: number; readonly hit: number; readonly uncached: number };
  /** Ceiling CPU per request over the hit's: the hit path's throughput bound over the ceiling's. */
  readonly cpuBoundHitOverCeiling: number;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  log(`${machine.cpuModel}, ${machine.cores} cores, load average ${machine.loadAverageAtStart}`);
  const { warmupSeconds: warmup, highConnections: connections } = settings;
  const seconds = SECONDS;
  const made = makeRequestBodies(settings.bodyCount);
  const bodies = made.map((body) => body.json);
  const cacheWorkUs = await cacheWorkPerHitUs(made[0]!.input);
  log(`the cache's own work per hit, in process: ${cacheWorkUs} µs`);
  const repository = repositoryWithCachedCopy();
  const base = embeddedGatewayOptions('gateway-cache');
  const servers: ChildServer[] = [];
  try {
    const ceiling = await startChildServer({
      name: 'http-ceiling',
      script: resolve(import.meta.dirname, 'servers', 'http-ceiling.js'),
      cwd: REPO_ROOT,
      readyPath: '/v2/health/ready',
    });
    servers.push(ceiling);
    const gateway = await startChildServer({
      ...base,
      env: { ...base.env, MODEL_REPOSITORY: repository, LOAD_MODELS: `${MODEL_NAME},${CACHED}` },
    });
    servers.push(gateway);
    // Fill: each body once (misses), then once more to see it hit.
    const headers = { 'content-type': 'application/json' };
    for (const body of bodies)
      await (await fetch(`${gateway.url}/v2/models/${CACHED}/infer`, { method: 'POST', headers, body })).arrayBuffer();
    const check = await fetch(`${gateway.url}/v2/models/${CACHED}/infer`, { method: 'POST', headers, body: bodies[0]! });
    await check.arrayBuffer();
    if (check.headers.get('x-cache') !== 'hit') throw new Error(`a filled body was not a hit: x-cache ${check.headers.get('x-cache')}`);
    const target = (url: string, model: string): LoadTarget => ({ url, path: `/v2/models/${model}/infer`, bodies });
    const targets = {
      ceiling: target(ceiling.url, MODEL_NAME),
      hit: target(gateway.url, CACHED),
      uncached: target(gateway.url, MODEL_NAME),
    };
    for (const [name, loadTarget] of Object.entries(targets)) {
      log(`warm-up ${name}`);
      await runLoad(loadTarget, connections, warmup, 0);
    }
    const hitsBefore = await metric(gateway.url, 'switchyard_response_cache_hits_total');
    const rawHitsBefore = await metric(gateway.url, 'switchyard_response_cache_raw_hits_total');
    const missesBefore = await metric(gateway.url, 'switchyard_response_cache_misses_total');
    const rounds: Round[] = [];
    for (let index = 0; index < ROUNDS; index += 1) {
      const ceilingRun = await runLoad(targets.ceiling, connections, seconds, 0, ceiling.pid);
      const hit = await runLoad(targets.hit, connections, seconds, 0, gateway.pid);
      const uncached = await runLoad(targets.uncached, connections, seconds, 0, gateway.pid);
      const ratio = round(hit.requestsPerSecond / ceilingRun.requestsPerSecond, 3);
      const cpu = { ceiling: cpuUsPerRequest(ceilingRun), hit: cpuUsPerRequest(hit), uncached: cpuUsPerRequest(uncached) };
      const cpuRatio = cpu.hit > 0 ? round(cpu.ceiling / cpu.hit, 3) : 0;
      log(
        `round ${index + 1}: ceiling ${ceilingRun.requestsPerSecond} req/s (${cpu.ceiling} µs CPU each), hit ${hit.requestsPerSecond} req/s (${cpu.hit} µs) = ${ratio}x (CPU bound ${cpuRatio}x), uncached ${uncached.requestsPerSecond} req/s (${cpu.uncached} µs)`,
      );
      rounds.push({ ceiling: ceilingRun, hit, uncached, hitOverCeiling: ratio, cpuUsPerRequest: cpu, cpuBoundHitOverCeiling: cpuRatio });
    }
    const sequential = { hit: await serverMs(targets.hit, 500), uncached: await serverMs(targets.uncached, 500) };
    log(
      `server ms one at a time (p50 / p90): hit ${sequential.hit.p50} / ${sequential.hit.p90}, uncached ${sequential.uncached.p50} / ${sequential.uncached.p90}`,
    );
    const hits = (await metric(gateway.url, 'switchyard_response_cache_hits_total')) - hitsBefore - 500;
    const rawHits = (await metric(gateway.url, 'switchyard_response_cache_raw_hits_total')) - rawHitsBefore - 500;
    const misses = (await metric(gateway.url, 'switchyard_response_cache_misses_total')) - missesBefore;
    const failed = rounds.reduce(
      (sum, r) => sum + r.hit.non2xx + r.hit.errors + r.ceiling.non2xx + r.ceiling.errors + r.uncached.non2xx + r.uncached.errors,
      0,
    );
    const results = {
      machine: { ...machine, loadAverageAtEnd: currentLoadAverage() },
      settings: {
        connections,
        secondsPerRun: seconds,
        warmupSeconds: warmup,
        rounds: ROUNDS,
        bodies: bodies.length,
        cpuCount: settings.cpuCount,
      },
      rounds,
      medianHitOverCeiling: round(median(rounds.map((r) => r.hitOverCeiling)), 3),
      medianHitOverUncached: round(median(rounds.map((r) => r.hit.requestsPerSecond / r.uncached.requestsPerSecond)), 3),
      medianCpuUsPerRequest: {
        ceiling: round(median(rounds.map((r) => r.cpuUsPerRequest.ceiling)), 1),
        hit: round(median(rounds.map((r) => r.cpuUsPerRequest.hit)), 1),
        uncached: round(median(rounds.map((r) => r.cpuUsPerRequest.uncached)), 1),
      },
      medianCpuBoundHitOverCeiling: round(median(rounds.map((r) => r.cpuBoundHitOverCeiling)), 3),
      serverMsOneAtATime: sequential,
      cacheWorkPerHitUs: cacheWorkUs,
      hitsCounted: hits,
      rawHitsCounted: rawHits,
      missesCounted: misses,
      failed,
    };
    writeFileSync(join(RESULTS_DIR, 'response-cache.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(RESULTS_DIR, 'response-cache.md'), report(results));
    log(
      `median hit / ceiling ${results.medianHitOverCeiling} (CPU bound ${results.medianCpuBoundHitOverCeiling}), hit / uncached ${results.medianHitOverUncached}; hits ${hits} (raw ${rawHits}), misses ${misses}, failed ${failed}`,
    );
    if (failed > 0 || misses > 0 || rawHits < hits) process.exitCode = 1;
  } finally {
    for (const server of servers.reverse()) await server.stop();
    rmSync(repository, { recursive: true, force: true });
  }
}

type Sequential = Record<'hit' | 'uncached', { p50: number; p90: number }>;
type Cpu = Round['cpuUsPerRequest'];

function report(results: {
  machine: ReturnType<typeof machineInfo> & { loadAverageAtEnd: number };
  settings: { connections: number; secondsPerRun: number; rounds: number; bodies: number };
  rounds: Round[];
  medianHitOverCeiling: number;
  medianHitOverUncached: number;
  medianCpuUsPerRequest: Cpu;
  medianCpuBoundHitOverCeiling: number;
  serverMsOneAtATime: Sequential;
  cacheWorkPerHitUs: number;
  hitsCounted: number;
  rawHitsCounted: number;
  missesCounted: number;
  failed: number;
}): string {
  const { machine, settings: s } = results;
  const lines = [
    `# Response cache: hit path vs the HTTP ceiling, ${s.connections} connections, ${s.secondsPerRun} s runs`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.nodeVersion}, commit ${machine.gitCommit}, ${machine.date}.`,
    `Load average ${machine.loadAverageAtStart} at the start, ${machine.loadAverageAtEnd} at the end (the machine is shared).`,
    '',
    `The same ${s.bodies} JSON bodies (512 FP32 values) go to the HTTP ceiling (fastify, no inference), to \`${CACHED}\``,
    `(the MLP with response_cache on, every body already cached: each request a hit) and to \`${MODEL_NAME}\``,
    '(the same model uncached, batched on onnxruntime), in alternating runs on one embedded gateway.',
    '',
    row([
      'round',
      'ceiling req/s',
      'hit req/s',
      'hit / ceiling',
      'uncached req/s',
      'CPU µs/request: ceiling, hit, uncached',
      'CPU bound hit / ceiling',
      'hit p50 / p99 ms',
    ]),
    row(['---', '---', '---', '---', '---', '---', '---', '---']),
    ...results.rounds.map((r, i) =>
      row([
        i + 1,
        r.ceiling.requestsPerSecond,
        r.hit.requestsPerSecond,
        r.hitOverCeiling,
        r.uncached.requestsPerSecond,
        `${r.cpuUsPerRequest.ceiling}, ${r.cpuUsPerRequest.hit}, ${r.cpuUsPerRequest.uncached}`,
        r.cpuBoundHitOverCeiling,
        `${r.hit.latencyMs.p50} / ${r.hit.latencyMs.p99}`,
      ]),
    ),
    '',
    `Median hit / ceiling throughput: **${results.medianHitOverCeiling}**; hit / uncached: ${results.medianHitOverUncached}.`,
    `Median server CPU per request: ceiling ${results.medianCpuUsPerRequest.ceiling} µs, hit ${results.medianCpuUsPerRequest.hit} µs, uncached ${results.medianCpuUsPerRequest.uncached} µs`,
    `(the gateway's process, its instance threads included): the hit path's throughput bound is **${results.medianCpuBoundHitOverCeiling}** of the ceiling's`,
    "(ceiling CPU per request over the hit's, median of the rounds). Throughput on this shared machine swings with the",
    "neighbours' load from run to run; CPU per request counts only the server's own work.",
    '',
    `X-Server-Ms (the gateway's own time, arrival to answer ready), 500 requests one at a time, p50 / p90: hit ${results.serverMsOneAtATime.hit.p50} / ${results.serverMsOneAtATime.hit.p90} ms,`,
    `uncached ${results.serverMsOneAtATime.uncached.p50} / ${results.serverMsOneAtATime.uncached.p90} ms.`,
    '',
    'A body the cache answered before is a raw hit: looked up by a hash of its bytes before it is parsed, its answer kept',
    'encoded (docs/response-cache.md). A parsed hit (the first repeat of a body, or the same tensor in another encoding)',
    `pays the parse, validation, the canonical key, the entry decoded and the answer encoded; its cache work alone (key over`,
    `the 512 inputs, lookup, entry decoded into fresh buffers), timed in process over 20,000 hits: ${results.cacheWorkPerHitUs} µs.`,
    '',
    `During the measured runs the gateway counted ${results.hitsCounted} hits (${results.rawHitsCounted} of them raw) and ${results.missesCounted} misses; ${results.failed} requests failed.`,
    '',
  ];
  return lines.join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
