/**
 * `npm run bench:cold-start`: scale from zero, end to end with real processes. Per round: a
 * gateway (distributed mode, no worker), REQUESTS requests sent to the MLP, then a worker process
 * started; times from the worker's spawn to its "worker ready" line, to the first answer and to
 * the last, and from the first request to its answer (what switchyard_cold_start_seconds
 * observes). Redis from REDIS_URL (default 127.0.0.1:6379), a fresh key prefix per round.
 * Writes bench/results/cold-start.{json,md}.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { spawnChild, waitUntilReady, type Child } from './child-process.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { row } from './markdown.js';
import { MODEL_NAME, RESULTS_DIR } from './settings.js';
import { freePort } from './child-server.js';

const ROUNDS = Number(process.env.COLD_START_ROUNDS ?? 3);
const REQUESTS = 20;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROOT = resolve(import.meta.dirname, '..', '..');

interface Round {
  readonly workerReadyMs: number;
  readonly firstAnswerMs: number;
  readonly lastAnswerMs: number;
  readonly firstQueuedToAnswerMs: number;
  readonly answered200: number;
  readonly loadAverage: number;
}

async function clean(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

function body(seed: number): string {
  const data = Array.from({ length: 512 }, (_, i) => Math.sin(seed * 31.7 + i * 0.37));
  return JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], data }] });
}

async function round(): Promise<Round> {
  const prefix = `bench-cold-${randomUUID().slice(0, 8)}`;
  const env = {
    REDIS_URL,
    REDIS_PREFIX: prefix,
    MODEL_REPOSITORY: join(ROOT, 'models'),
    LOAD_MODELS: MODEL_NAME,
    HEARTBEAT_MS: '500',
    LOG_LEVEL: 'info',
  };
  const port = await freePort();
  const children: Child[] = [];
  try {
    const gateway = spawnChild({
      name: 'gateway',
      script: join(ROOT, 'dist/gateway/server.js'),
      cwd: ROOT,
      env: { ...env, PORT: String(port) },
    });
    children.push(gateway);
    const url = `http://127.0.0.1:${port}`;
    const ready = async (): Promise<boolean> => (await fetch(`${url}/v2/health/ready`).catch(() => undefined))?.status === 200;
    await waitUntilReady(ready, gateway, [gateway], 30_000, 'gateway ready');
    const sentAt = performance.now();
    const answers = Array.from({ length: REQUESTS }, (_, seed) =>
      fetch(`${url}/v2/models/${MODEL_NAME}/versions/1/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(seed),
      }).then(async (response) => ({ status: response.status, at: performance.now(), text: await response.text() })),
    );
    await sleep(500); // queued, cold
    const workerAt = performance.now();
    const worker = spawnChild({
      name: 'worker',
      script: join(ROOT, 'dist/workers/main.js'),
      cwd: ROOT,
      env: { ...env, WORKER_ID: 'cold', METRICS_PORT: '0' },
    });
    children.push(worker);
    // Its "worker ready" line (logged once it consumes), polled finely: the answers may come first.
    const workerReady = (async (): Promise<number> => {
      while (!worker.output().includes('"worker ready"')) {
        if (worker.hasExited() || performance.now() - workerAt > 120_000) return Number.NaN;
        await sleep(5);
      }
      return performance.now();
    })();
    const replies = await Promise.all(answers);
    const failed = replies.find((reply) => reply.status !== 200);
    if (failed) throw new Error(`a request was answered ${failed.status}: ${failed.text}`);
    const times = replies.map((reply) => reply.at);
    return {
      workerReadyMs: Math.round((await workerReady) - workerAt),
      firstAnswerMs: Math.round(Math.min(...times) - workerAt),
      lastAnswerMs: Math.round(Math.max(...times) - workerAt),
      firstQueuedToAnswerMs: Math.round(replies[0]!.at - sentAt),
      answered200: replies.length,
      loadAverage: currentLoadAverage(),
    };
  } finally {
    for (const child of children.reverse()) await child.stop();
    await clean(prefix);
  }
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    rounds.push(await round());
    console.log(`round ${i + 1}: ${JSON.stringify(rounds.at(-1))}`);
  }
  const median = (key: keyof Round): number => [...rounds.map((r) => r[key])].sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!;
  const summary = {
    workerReadyMs: median('workerReadyMs'),
    firstAnswerMs: median('firstAnswerMs'),
    lastAnswerMs: median('lastAnswerMs'),
    firstQueuedToAnswerMs: median('firstQueuedToAnswerMs'),
  };
  const json = { machine, model: `${MODEL_NAME}:1`, requests: REQUESTS, rounds, median: summary };
  writeFileSync(join(RESULTS_DIR, 'cold-start.json'), `${JSON.stringify(json, null, 2)}\n`);
  const lines = [
    '# Cold start: a worker process started for requests already queued',
    '',
    `${machine.date}, ${machine.cpuModel} x${machine.cores}, node ${machine.nodeVersion}, commit ${machine.gitCommit};`,
    `load average ${machine.loadAverageAtStart} at start.`,
    `Model ${MODEL_NAME}:1 on CPU; ${REQUESTS} requests queued 0.5 s before the worker process was spawned; ${ROUNDS} rounds.`,
    'The worker logs "worker ready" once it consumes, so it can land just after the first answer.',
    'The machine (2 cores) was shared with other work.',
    '',
    row([
      'round',
      'spawn → worker ready (ms)',
      'spawn → first answer (ms)',
      'spawn → last answer (ms)',
      'first request → its answer (ms)',
      '200s',
      'load avg',
    ]),
    row(['---', '---', '---', '---', '---', '---', '---']),
    ...rounds.map((r, i) =>
      row([i + 1, r.workerReadyMs, r.firstAnswerMs, r.lastAnswerMs, r.firstQueuedToAnswerMs, r.answered200, r.loadAverage]),
    ),
    row(['median', summary.workerReadyMs, summary.firstAnswerMs, summary.lastAnswerMs, summary.firstQueuedToAnswerMs, '', '']),
    '',
  ];
  writeFileSync(join(RESULTS_DIR, 'cold-start.md'), lines.join('\n'));
  console.log(lines.join('\n'));
}

await main();
