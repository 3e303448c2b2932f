/**
 * `npm run bench:distributed-large-outputs [BASE_DIST [NEXT_DIST]]`: the text recognizer (one
 * 184 KB line image in, a 1 MB output out, binary tensor extension) through two builds' distributed
 * stacks (gateway + worker on the local Redis), both up at once and loaded in alternating rounds
 * (the order flipped each round): rows/s, and the gateway's and worker's CPU per row from /proc.
 * BASE_DIST (default `dist-base`, e.g. a copy of main's `dist`) is A, NEXT_DIST (default `dist`) B.
 * Rounds: BENCH_PAIRED_ROUNDS; seconds: BENCH_DURATION_SECONDS; engine: QUEUE_ENGINE (bullmq).
 * Writes bench/results/distributed-large-outputs-<engine>.{json,md}.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withDistributed, type Distributed } from './distributed.js';
import { machineInfo } from './machine-info.js';
import { cpuSeconds } from './proc-stats.js';
import { binaryLoad } from './recognizer/binary-load.js';
import { REDIS_URL, RESULTS_DIR, settings } from './settings.js';
import { median, round } from './stats.js';
import { inTurn } from './in-turn.js';

const WIDTH = 320;
const CONNECTIONS = 8;
const log = (message: string): void => console.log(`[large-outputs ${new Date().toISOString().slice(11, 19)}] ${message}`);

interface Run {
  readonly rowsPerSecond: number;
  readonly gatewayCpuMsPerRow: number;
  readonly workerCpuMsPerRow: number;
  readonly p50Ms: number;
  readonly failed: number;
}

async function recognizerReady(url: string): Promise<void> {
  const until = Date.now() + 120_000;
  while ((await fetch(`${url}/v2/models/text-recognizer/ready`)).status !== 200) {
    if (Date.now() > until) throw new Error(`${url}: text-recognizer not ready within 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function measure(stack: Distributed, seconds: number): Promise<Run> {
  const gateway = await cpuSeconds(stack.gatewayPid);
  const worker = await cpuSeconds(stack.workerPid);
  const started = performance.now();
  const load = await binaryLoad(stack.url, WIDTH, CONNECTIONS, seconds);
  const rows = Math.max(1, (load.rowsPerSecond * (performance.now() - started)) / 1000);
  return {
    rowsPerSecond: load.rowsPerSecond,
    gatewayCpuMsPerRow: round((((await cpuSeconds(stack.gatewayPid)) - gateway) * 1000) / rows, 2),
    workerCpuMsPerRow: round((((await cpuSeconds(stack.workerPid)) - worker) * 1000) / rows, 2),
    p50Ms: load.p50Ms,
    failed: load.non2xx + load.errors,
  };
}

async function main(): Promise<void> {
  const base = process.argv[2] ?? 'dist-base';
  const next = process.argv[3] ?? 'dist';
  const engine = process.env.QUEUE_ENGINE ?? 'bullmq';
  const env = { QUEUE_ENGINE: engine, LOAD_MODELS: 'mlp-classifier,text-recognizer' };
  const machine = machineInfo();
  const rounds: { a: Run; b: Run }[] = [];
  await withDistributed({ redisUrl: REDIS_URL, prefix: `swlo-a-${randomUUID().slice(0, 8)}`, env, dist: base }, (a) =>
    withDistributed({ redisUrl: REDIS_URL, prefix: `swlo-b-${randomUUID().slice(0, 8)}`, env, dist: next }, async (b) => {
      await recognizerReady(a.url);
      await recognizerReady(b.url);
      await binaryLoad(a.url, WIDTH, CONNECTIONS, settings.warmupSeconds);
      await binaryLoad(b.url, WIDTH, CONNECTIONS, settings.warmupSeconds);
      for (let index = 0; index < settings.pairedRounds; index += 1) {
        const [ra, rb] = await inTurn(
          index,
          () => measure(a, settings.durationSeconds),
          () => measure(b, settings.durationSeconds),
        );
        rounds.push({ a: ra, b: rb });
        log(
          `round ${index + 1}: A ${ra.rowsPerSecond} rows/s (gateway ${ra.gatewayCpuMsPerRow}, worker ${ra.workerCpuMsPerRow} ms CPU a row) | ` +
            `B ${rb.rowsPerSecond} (${rb.gatewayCpuMsPerRow}, ${rb.workerCpuMsPerRow})`,
        );
      }
    }),
  );
  const ratio = (pick: (run: Run) => number) => round(median(rounds.map(({ a, b }) => pick(b) / pick(a))), 3);
  const summary = {
    rowsPerSecond: ratio((run) => run.rowsPerSecond),
    gatewayCpuPerRow: ratio((run) => run.gatewayCpuMsPerRow),
    workerCpuPerRow: ratio((run) => run.workerCpuMsPerRow),
  };
  log(
    `median B/A: rows/s ${summary.rowsPerSecond}, gateway CPU a row ${summary.gatewayCpuPerRow}, worker CPU a row ${summary.workerCpuPerRow}`,
  );
  const lines = [
    '# Large outputs through the distributed stack: two builds side by side',
    '',
    JSON.stringify(machine),
    '',
    `text-recognizer (width ${WIDTH}: a 184 KB FP32 image in, a 1 MB FP32 output out, binary tensor extension), ${CONNECTIONS} connections, ` +
      `QUEUE_ENGINE=${engine}; A: \`${base}\`, B: \`${next}\`, each a gateway and a worker on the local Redis, loaded in alternating ${settings.durationSeconds} s runs ` +
      '(the order flipped each round). CPU: the process (all threads) per row answered.',
    '',
    '| round | A rows/s | B rows/s | B/A | A gateway ms CPU/row | B gateway | A worker ms CPU/row | B worker | A p50 ms | B p50 ms | failed A/B |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rounds.map(
      ({ a, b }, index) =>
        `| ${index + 1} | ${a.rowsPerSecond} | ${b.rowsPerSecond} | ${round(b.rowsPerSecond / a.rowsPerSecond, 3)} | ${a.gatewayCpuMsPerRow} | ` +
        `${b.gatewayCpuMsPerRow} | ${a.workerCpuMsPerRow} | ${b.workerCpuMsPerRow} | ${a.p50Ms} | ${b.p50Ms} | ${a.failed}/${b.failed} |`,
    ),
    '',
    `Medians of B/A per round: rows/s **${summary.rowsPerSecond}**, gateway CPU a row **${summary.gatewayCpuPerRow}**, worker CPU a row **${summary.workerCpuPerRow}**.`,
  ];
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    join(RESULTS_DIR, `distributed-large-outputs-${engine}.json`),
    `${JSON.stringify({ machine, engine, base, next, connections: CONNECTIONS, width: WIDTH, rounds, medians: summary }, null, 2)}\n`,
  );
  writeFileSync(join(RESULTS_DIR, `distributed-large-outputs-${engine}.md`), `${lines.join('\n')}\n`);
  log(`wrote ${join(RESULTS_DIR, `distributed-large-outputs-${engine}.{json,md}`)}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
