/**
 * `npm run bench:redis-floor`: what Redis itself costs per request for the least any queue over
 * it can do, one request at a time, on a private redis-server (port 7251): a "gateway" process
 * adds a job (XADD) and waits for its reply (XREAD), a "worker" process takes it (XREADGROUP) and
 * answers (MULTI: XADD reply, XACK, XDEL). No model, no HTTP, no JSON beyond a 300-byte payload:
 * the floor under `bench:redis-ops`'s streams engine at 1 connection. Two layouts, alternated:
 * - separate: as the streams engine does it, each side with a blocking connection and a command
 *   connection (4 socket reads per request);
 * - paired: the job's XADD written together with the reply's XREAD on one connection, the finish
 *   with the next XREADGROUP (2 socket reads per request), the fewest reads a request can take.
 * And one GET round trip, for the server's cost of a single request/answer on this machine.
 * Redis CPU is split into user (Redis's own code) and system (the kernel; over loopback TCP a
 * write of Redis's also runs the receiving client's side of the stack, charged to Redis).
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RedisProcess, baseArgs, serverFolder } from '../test/helpers/redis-process.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { row } from './markdown.js';
import { ServerStats } from './redis-server-stats.js';
import { RESULTS_DIR } from './settings.js';
import { median, round } from './stats.js';

const PORT = Number(process.env.REDIS_FLOOR_PORT ?? 7251);
const REQUESTS = Number(process.env.REDIS_FLOOR_REQUESTS ?? 6_000);
const ROUNDS = Number(process.env.REDIS_FLOOR_ROUNDS ?? 3);
const LAYOUTS = ['separate', 'paired'] as const;
type Layout = (typeof LAYOUTS)[number];
const JOBS = 'floor:jobs';
const REPLIES = 'floor:replies';
const GROUP = 'workers';
const PAYLOAD = 'x'.repeat(300);
const log = (message: string): void => console.log(`[redis-floor ${new Date().toISOString().slice(11, 19)}] ${message}`);

const connectTo = async (): Promise<Redis> => {
  const redis = new Redis(PORT, '127.0.0.1', { maxRetriesPerRequest: null });
  await redis.ping();
  return redis;
};

/** Takes jobs until told to stop; answers each as the streams engine's finish does. */
async function worker(layout: Layout): Promise<void> {
  const blocking = await connectTo();
  const commands = await connectTo();
  const read = () =>
    blocking.xreadgroup('GROUP', GROUP, 'w', 'COUNT', 8, 'BLOCK', 1_000, 'STREAMS', JOBS, '>') as Promise<
      [string, [string, string[]][]][] | null
    >;
  let next = read();
  let open = true;
  process.on('message', () => (open = false));
  while (open) {
    const taken = await next;
    if (!taken) {
      next = read();
      continue;
    }
    const [id] = taken[0]![1][0]!;
    const finish = (redis: Redis) => redis.multi().xadd(REPLIES, '*', 'r', PAYLOAD).xack(JOBS, GROUP, id).xdel(JOBS, id).exec();
    if (layout === 'separate') {
      next = read();
      await finish(commands);
    } else {
      // Corked: the finish and the next read leave in one write, so Redis reads them in one go.
      blocking.stream.cork();
      const done = finish(blocking);
      next = read();
      blocking.stream.uncork();
      await done;
    }
  }
  process.exit(0);
}

/** Sends REQUESTS jobs one after another; reports how long they took. */
async function gateway(layout: Layout): Promise<void> {
  const commands = await connectTo();
  const replies = await connectTo();
  let last = (await commands.xrevrange(REPLIES, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  const readReply = () => replies.xread('COUNT', 100, 'BLOCK', 1_000, 'STREAMS', REPLIES, last);
  let pending = layout === 'separate' ? readReply() : undefined;
  const startedAt = performance.now();
  for (let i = 0; i < REQUESTS; i += 1) {
    let answer: Awaited<ReturnType<typeof readReply>>;
    if (layout === 'separate') {
      await commands.xadd(JOBS, '*', 'd', PAYLOAD);
      while (!(answer = await pending!)) pending = readReply();
      last = answer[0]![1].at(-1)![0];
      pending = readReply();
    } else {
      replies.stream.cork();
      const added = replies.xadd(JOBS, '*', 'd', PAYLOAD);
      let reading = readReply();
      replies.stream.uncork();
      await added;
      while (!(answer = await reading)) reading = readReply();
      last = answer[0]![1].at(-1)![0];
    }
  }
  process.send!(performance.now() - startedAt);
  if (pending) await pending;
  process.exit(0);
}

interface FloorRun {
  readonly layout: Layout | 'get';
  readonly round: number;
  readonly requestsPerSecond: number;
  readonly cpuMicros: number;
  readonly userMicros: number;
  readonly systemMicros: number;
  readonly reads: number;
  readonly writes: number;
  readonly loadAverageBefore: number;
}

async function measureLayout(layout: Layout, round_: number, stats: ServerStats): Promise<FloorRun> {
  const script = process.argv[1]!;
  const workerProcess = fork(script, ['worker', layout]);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const loadAverageBefore = currentLoadAverage();
  await stats.begin();
  const gatewayProcess = fork(script, ['gateway', layout]);
  const ms = await new Promise<number>((resolve) => gatewayProcess.once('message', (value) => resolve(Number(value))));
  const work = await stats.end();
  await new Promise((resolve) => gatewayProcess.once('exit', resolve));
  workerProcess.send('stop');
  await new Promise((resolve) => workerProcess.once('exit', resolve));
  return summary(layout, round_, REQUESTS, ms, work, loadAverageBefore);
}

async function measureGet(round_: number, stats: ServerStats): Promise<FloorRun> {
  const redis = await connectTo();
  const loadAverageBefore = currentLoadAverage();
  await stats.begin();
  const startedAt = performance.now();
  for (let i = 0; i < REQUESTS; i += 1) await redis.get('floor:key');
  const ms = performance.now() - startedAt;
  const work = await stats.end();
  redis.disconnect();
  return summary('get', round_, REQUESTS, ms, work, loadAverageBefore);
}

function summary(
  layout: FloorRun['layout'],
  round_: number,
  requests: number,
  ms: number,
  work: Awaited<ReturnType<ServerStats['end']>>,
  loadAverageBefore: number,
): FloorRun {
  const micros = (seconds: number): number => round((seconds * 1e6) / requests, 1);
  return {
    layout,
    round: round_,
    requestsPerSecond: round((requests / ms) * 1000, 0),
    cpuMicros: micros(work.cpuSeconds),
    userMicros: micros(work.cpuUserSeconds),
    systemMicros: micros(work.cpuSeconds - work.cpuUserSeconds),
    reads: round(work.reads / requests, 2),
    writes: round(work.writes / requests, 2),
    loadAverageBefore,
  };
}

async function main(): Promise<void> {
  const folder = serverFolder('bench-redis-floor');
  const server = new RedisProcess(PORT, baseArgs(PORT), folder.dir);
  await server.start();
  const stats = new ServerStats(`redis://127.0.0.1:${PORT}`);
  const admin = await connectTo();
  await admin.xgroup('CREATE', JOBS, GROUP, '0', 'MKSTREAM');
  const runs: FloorRun[] = [];
  try {
    for (let round_ = 1; round_ <= ROUNDS; round_ += 1) {
      // The layouts take turns, the order flipped each round, so both see the same machine.
      const order = round_ % 2 === 1 ? LAYOUTS : [...LAYOUTS].reverse();
      for (const layout of order) {
        const run = await measureLayout(layout, round_, stats);
        runs.push(run);
        log(
          `round ${round_} ${layout}: ${run.cpuMicros} us Redis CPU per request (user ${run.userMicros}), ${run.reads} reads, ${run.requestsPerSecond} req/s`,
        );
        await admin.xtrim(REPLIES, 'MAXLEN', 0);
      }
      const get = await measureGet(round_, stats);
      runs.push(get);
      log(`round ${round_} get: ${get.cpuMicros} us Redis CPU per round trip (user ${get.userMicros})`);
    }
  } finally {
    admin.disconnect();
    await stats.close();
    await server.kill();
    folder.remove();
  }
  const medians = Object.fromEntries(
    (['separate', 'paired', 'get'] as const).map((layout) => {
      const of = runs.filter((run) => run.layout === layout);
      return [layout, { cpuMicros: median(of.map((run) => run.cpuMicros)), userMicros: median(of.map((run) => run.userMicros)) }];
    }),
  );
  const results = { measuredAt: new Date().toISOString(), machine: machineInfo(), requestsPerRun: REQUESTS, runs, medians };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'redis-floor.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, 'redis-floor.md'), markdown(results));
  log(`medians: separate ${medians.separate!.cpuMicros} us, paired ${medians.paired!.cpuMicros} us, one GET ${medians.get!.cpuMicros} us`);
}

function markdown(results: {
  measuredAt: string;
  machine: ReturnType<typeof machineInfo>;
  runs: FloorRun[];
  medians: Record<string, { cpuMicros: number; userMicros: number }>;
}): string {
  const m = results.medians;
  return [
    '# Redis CPU per request: the floor of a queue over Redis',
    '',
    `${results.measuredAt}, ${results.machine.cpuModel}, ${results.machine.cores} cores (commit ${results.machine.gitCommit}). Private redis-server; a gateway process and a worker process doing only a queue's commands (XADD job, XREADGROUP, MULTI of XADD reply + XACK + XDEL, XREAD), one request at a time, ${REQUESTS} requests per run; layouts alternated. CPU: used_cpu_user and used_cpu_sys of the server, per request.`,
    '',
    row([
      'layout',
      'round',
      'req/s',
      'Redis CPU µs / req',
      'user µs',
      'system µs',
      'socket reads / req',
      'socket writes / req',
      'load avg',
    ]),
    row(Array(9).fill('---')),
    ...results.runs.map((run) =>
      row([
        run.layout,
        run.round,
        run.requestsPerSecond,
        run.cpuMicros,
        run.userMicros,
        run.systemMicros,
        run.reads,
        run.writes,
        run.loadAverageBefore,
      ]),
    ),
    '',
    `Medians: **separate ${m.separate!.cpuMicros} µs** (user ${m.separate!.userMicros}), paired ${m.paired!.cpuMicros} µs (user ${m.paired!.userMicros}), one GET round trip ${m.get!.cpuMicros} µs (user ${m.get!.userMicros}).`,
    '',
    "Over loopback TCP each of Redis's writes also runs the receiving client's side of the network stack, charged to Redis as system time; on a Redis host of its own that part is the client machine's. The streams engine at 1 connection (`redis-ops.md`) does the separate layout plus the gateway's and worker's own bookkeeping.",
    '',
  ].join('\n');
}

const role = process.argv[2];
if (role === 'worker') await worker(process.argv[3] as Layout);
else if (role === 'gateway') await gateway(process.argv[3] as Layout);
else await main();
