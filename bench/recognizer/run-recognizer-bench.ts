/**
 * `npm run bench:recognizer`: the compute-bound case of issue "serve every model at the throughput
 * its hardware gives". The shipped PaddleOCR recognizer (fp32, width 320) at 16 connections through
 * an embedded gateway, tuned and as hand-written, against the best raw onnxruntime layout found by an
 * exhaustive in-process search (sessions × threads × batch), alternated in rounds on one machine.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { startChildServer, type ChildServer } from '../child-server.js';
import { machineInfo } from '../machine-info.js';
import { row } from '../markdown.js';
import { REPO_ROOT, RESULTS_DIR, settings } from '../settings.js';
import { median, round } from '../stats.js';
import { detectHardware } from '../../workers/pool/hardware.js';
import { resolveWeights } from '../../workers/repository/resolve-weights.js';
import { readModelDefinition } from '../../workers/repository/load-repository.js';
import { tuneModel } from '../../workers/tuning/tune-model.js';
import { tunedBlock } from '../../workers/tuning/tuning-report.js';
import { writeTunedBlock } from '../../workers/tuning/write-tuned.js';
import { cpuSeconds } from '../proc-stats.js';
import { binaryLoad, type BinaryLoadResult, type LoadClient } from './binary-load.js';
import { measureRaw, rawLayouts, type RawResult } from './raw-search.js';
import { RECOGNIZER, recognizerRepositories } from './repositories.js';

const WIDTH = 320;
const CONNECTIONS = 16;
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const SEARCH_SECONDS = env('BENCH_RAW_SEARCH_SECONDS', 3);
const RUN_SECONDS = env('BENCH_RECOGNIZER_SECONDS', 8);
const ROUNDS = env('BENCH_RECOGNIZER_ROUNDS', 3);
const TUNE_BUDGET_SECONDS = env('BENCH_TUNE_BUDGET_SECONDS', 150);
const TUNE_MEASURE_SECONDS = env('BENCH_TUNE_MEASURE_SECONDS', 3);
const cores = settings.cpuCount;
const log = (text: string) => console.log(text);

const hardware = detectHardware(cores);
const repositories = await recognizerRepositories(hardware.cpu);
const definition = await readModelDefinition(repositories.untuned, RECOGNIZER);
const modelPath = resolveWeights(definition, '1');

// 1. The tuned settings: the shipped block for this machine, or `npm run tune`'s choice made now.
let tunedFrom: string;
/** What the tuner measured, when it ran in this bench: the layouts it compared and what each cost. */
let tuneTrials: object[] = [];
if (repositories.shippedBlock) {
  tunedFrom = `the shipped config's tuned block for ${hardware.cpu}`;
} else {
  log(`no tuned block for ${hardware.cpu} in the shipped config: tuning now (npm run tune's search, at most ${TUNE_BUDGET_SECONDS} s)...`);
  const result = await tuneModel({
    repository: repositories.shipped,
    model: RECOGNIZER,
    version: '1',
    concurrency: CONNECTIONS,
    rampMs: 500,
    measureMs: TUNE_MEASURE_SECONDS * 1000,
    maxConfigs: 40,
    timeBudgetMs: TUNE_BUDGET_SECONDS * 1000,
    cpuCount: cores,
  });
  if (!result.chosen) throw new Error('the tuner measured nothing');
  await writeTunedBlock(join(repositories.shipped, RECOGNIZER), result.hardwareKey, '1', tunedBlock(result, new Date().toISOString()));
  tuneTrials = result.trials.map((trial) => ({
    stage: trial.stage,
    ...trial.candidate,
    throughput: trial.measured ? round(trial.measured.throughput, 1) : null,
    p95Ms: trial.measured ? round(trial.measured.p95Ms, 1) : null,
    cpuMsPerRow: trial.measured?.cpuMsPerRequest !== undefined ? round(trial.measured.cpuMsPerRequest, 2) : null,
    ...(trial.measured?.stoppedEarly ? { stoppedEarly: trial.measured.stoppedEarly } : {}),
  }));
  tunedFrom = `npm run tune in this run (${result.trials.length} configurations, ${round(result.elapsedMs / 1000, 0)} s)`;
}
const tuned = (
  JSON.parse(await readFile(join(repositories.shipped, RECOGNIZER, 'config.json'), 'utf8')) as {
    tuned?: Record<string, Record<string, unknown>>;
  }
).tuned?.[hardware.cpu]?.['1'];
log(`tuned settings (${tunedFrom}): ${JSON.stringify(tuned)}`);

// 2. The exhaustive raw search.
log(`raw search: every sessions x threads layout on ${cores} cores at batch 1, 2, 4, 8, 16 (${SEARCH_SECONDS} s each)...`);
const search: RawResult[] = [];
for (const layout of rawLayouts(cores, [1, 2, 4, 8, 16])) {
  const result = await measureRaw(modelPath, WIDTH, layout, SEARCH_SECONDS);
  search.push(result);
  log(`  ${layout.sessions} x ${layout.threads} threads, batch ${layout.batch}: ${result.rowsPerSecond} rows/s`);
}
const best = search.reduce((a, b) => (b.rowsPerSecond > a.rowsPerSecond ? b : a));
log(`best raw: ${best.sessions} x ${best.threads}, batch ${best.batch}: ${best.rowsPerSecond} rows/s`);

// 3. Gateways, then alternating rounds.
const gateway = (name: string, repository: string): Promise<ChildServer> =>
  startChildServer({
    name,
    script: resolve(REPO_ROOT, 'dist', 'gateway', 'server.js'),
    cwd: REPO_ROOT,
    readyPath: '/v2/health/ready',
    env: {
      LOAD_MODELS: RECOGNIZER,
      LOG_LEVEL: 'warn',
      CPU_COUNT: String(cores),
      REDIS_URL: '',
      MODEL_REPOSITORY: repository,
      SWITCHYARD_CONFIG: '',
    },
    readyTimeoutMs: 120_000,
  });
const tunedGateway = await gateway('tuned gateway', repositories.shipped);
const untunedGateway = await gateway('untuned gateway', repositories.untuned);
// The floor: the least any HTTP server does to serve this model with the raw best's sessions on these cores.
const floorServer = await startChildServer({
  name: 'floor server',
  script: resolve(REPO_ROOT, 'dist', 'bench', 'recognizer', 'floor-server.js'),
  cwd: REPO_ROOT,
  readyPath: '/',
  env: { FLOOR_MODEL_PATH: modelPath, FLOOR_SESSIONS: String(best.sessions), FLOOR_THREADS: String(best.threads) },
  readyTimeoutMs: 120_000,
});
interface Measured extends BinaryLoadResult {
  /** CPU the gateway process (all its threads) spent per row. */
  readonly gatewayCpuMsPerRow: number;
}
interface Round {
  raw: number;
  rawCpuMsPerRow: number;
  tuned: Measured;
  untuned: Measured;
  /** The tuned gateway loaded by autocannon, for what the load generator costs. */
  tunedAutocannon: Measured;
  /** The floor server (bench/recognizer/floor-server.ts) under the lean client. */
  floor: Measured;
  loadAverage: number;
}
/** A load run with the gateway's CPU per row beside the client's. */
async function loadGateway(server: ChildServer, client: LoadClient): Promise<Measured> {
  const cpuBefore = await cpuSeconds(server.pid);
  const result = await binaryLoad(server.url, WIDTH, CONNECTIONS, RUN_SECONDS, client);
  const rows = Math.max(1, result.rowsPerSecond * RUN_SECONDS);
  return { ...result, gatewayCpuMsPerRow: round((((await cpuSeconds(server.pid)) - cpuBefore) * 1000) / rows, 2) };
}
/** The raw best layout's rows per second and the CPU this process (its session threads) spent per row. */
async function rawRound(): Promise<{ raw: number; rawCpuMsPerRow: number }> {
  const cpuStart = process.cpuUsage();
  const raw = (await measureRaw(modelPath, WIDTH, best, RUN_SECONDS)).rowsPerSecond;
  const cpu = process.cpuUsage(cpuStart);
  return { raw, rawCpuMsPerRow: round((cpu.user + cpu.system) / 1000 / Math.max(1, raw * RUN_SECONDS), 2) };
}
const rounds: Round[] = [];
try {
  await binaryLoad(tunedGateway.url, WIDTH, CONNECTIONS, 2);
  await binaryLoad(untunedGateway.url, WIDTH, CONNECTIONS, 2);
  await binaryLoad(tunedGateway.url, WIDTH, CONNECTIONS, 2, 'autocannon');
  await binaryLoad(floorServer.url, WIDTH, CONNECTIONS, 2);
  for (let index = 0; index < ROUNDS; index += 1) {
    const { raw, rawCpuMsPerRow } = await rawRound();
    const floor = await loadGateway(floorServer, 'lean');
    const tunedRun = await loadGateway(tunedGateway, 'lean');
    const untunedRun = await loadGateway(untunedGateway, 'lean');
    const tunedAutocannon = await loadGateway(tunedGateway, 'autocannon');
    rounds.push({
      raw,
      rawCpuMsPerRow,
      tuned: tunedRun,
      untuned: untunedRun,
      tunedAutocannon,
      floor,
      loadAverage: round(loadavg()[0]!, 2),
    });
    log(
      `round ${index + 1}: raw ${raw} (${rawCpuMsPerRow} ms CPU/row), floor server ${floor.rowsPerSecond} (${round(floor.rowsPerSecond / raw, 3)}x; ${floor.gatewayCpuMsPerRow} ms CPU/row), tuned gateway ${tunedRun.rowsPerSecond} (${round(tunedRun.rowsPerSecond / raw, 3)}x; gateway ${tunedRun.gatewayCpuMsPerRow} + client ${tunedRun.clientCpuMsPerRow} ms CPU/row), untuned ${untunedRun.rowsPerSecond} (${round(untunedRun.rowsPerSecond / raw, 3)}x), tuned with autocannon ${tunedAutocannon.rowsPerSecond} (client ${tunedAutocannon.clientCpuMsPerRow} ms CPU/row) rows/s`,
    );
  }
} finally {
  await tunedGateway.stop();
  await untunedGateway.stop();
  await floorServer.stop();
}

const tunedRatio = round(median(rounds.map((r) => r.tuned.rowsPerSecond / r.raw)), 3);
const untunedRatio = round(median(rounds.map((r) => r.untuned.rowsPerSecond / r.raw)), 3);
const autocannonRatio = round(median(rounds.map((r) => r.tunedAutocannon.rowsPerSecond / r.raw)), 3);
const floorRatio = round(median(rounds.map((r) => r.floor.rowsPerSecond / r.raw)), 3);
const tunedToFloor = round(median(rounds.map((r) => r.tuned.rowsPerSecond / r.floor.rowsPerSecond)), 3);
// CPU per row is steadier than rows/s on a shared machine: the raw layout's against the gateway's alone
// (as if the client ran elsewhere) and against the gateway's plus the client's (both on these cores).
const cpuRatioServer = round(median(rounds.map((r) => r.rawCpuMsPerRow / r.tuned.gatewayCpuMsPerRow)), 3);
const cpuRatioWithClient = round(median(rounds.map((r) => r.rawCpuMsPerRow / (r.tuned.gatewayCpuMsPerRow + r.tuned.clientCpuMsPerRow))), 3);
const results = {
  date: new Date().toISOString(),
  machine: machineInfo(),
  model: `${RECOGNIZER} v1 (fp32), input [1, 3, 48, ${WIDTH}], binary tensor extension`,
  connections: CONNECTIONS,
  secondsPerRun: RUN_SECONDS,
  tunedFrom,
  tunedSettings: tuned,
  tuneTrials,
  rawSearch: search,
  bestRaw: best,
  rounds,
  tunedRatio,
  untunedRatio,
  autocannonRatio,
  floorRatio,
  tunedToFloor,
  cpuRatioServer,
  cpuRatioWithClient,
  target: { tunedAtLeast: 0.9, met: tunedRatio >= 0.9 },
};
await writeFile(join(RESULTS_DIR, 'recognizer.json'), `${JSON.stringify(results, null, 2)}\n`);
const markdown = [
  '# Compute-bound: the recognizer through the gateway vs the best raw layout',
  '',
  `${results.date}, ${results.machine.cpuModel} (${cores} cores), load average at the rounds ${rounds.map((r) => r.loadAverage).join(', ')}. ${results.model}; the gateways at ${CONNECTIONS} connections (the lean client, and autocannon for comparison), ${RUN_SECONDS} s runs alternated with the raw best in ${ROUNDS} rounds.`,
  '',
  `Tuned settings: ${tunedFrom}: \`${JSON.stringify(tuned)}\`.`,
  '',
  '## Exhaustive raw search (onnxruntime-node in process, a thread per session)',
  '',
  row(['sessions', 'threads each', 'batch', 'rows/s']),
  row(['---', '---', '---', '---']),
  ...search.map((r) => row([r.sessions, r.threads, r.batch, r.rowsPerSecond])),
  '',
  '## Rounds',
  '',
  row([
    'round',
    `raw best (${best.sessions}x${best.threads}, batch ${best.batch}) rows/s`,
    'raw CPU ms/row',
    'floor server rows/s',
    'floor / raw',
    'floor + client CPU ms/row',
    'gateway tuned rows/s',
    'tuned / raw',
    'p50 / p99 ms',
    'gateway + client CPU ms/row',
    'gateway untuned rows/s',
    'untuned / raw',
    'tuned, autocannon rows/s',
    'autocannon / raw',
    'gateway + autocannon CPU ms/row',
  ]),
  row(Array.from({ length: 15 }, () => '---')),
  ...rounds.map((r, i) =>
    row([
      i + 1,
      r.raw,
      r.rawCpuMsPerRow,
      r.floor.rowsPerSecond,
      round(r.floor.rowsPerSecond / r.raw, 3),
      `${r.floor.gatewayCpuMsPerRow} + ${r.floor.clientCpuMsPerRow}`,
      r.tuned.rowsPerSecond,
      round(r.tuned.rowsPerSecond / r.raw, 3),
      `${r.tuned.p50Ms} / ${r.tuned.p99Ms}`,
      `${r.tuned.gatewayCpuMsPerRow} + ${r.tuned.clientCpuMsPerRow}`,
      r.untuned.rowsPerSecond,
      round(r.untuned.rowsPerSecond / r.raw, 3),
      r.tunedAutocannon.rowsPerSecond,
      round(r.tunedAutocannon.rowsPerSecond / r.raw, 3),
      `${r.tunedAutocannon.gatewayCpuMsPerRow} + ${r.tunedAutocannon.clientCpuMsPerRow}`,
    ]),
  ),
  '',
  `**Median tuned / raw best: ${tunedRatio}** (target >= 0.9: ${tunedRatio >= 0.9 ? 'met' : 'missed'}); before tuning: ${untunedRatio}; tuned, loaded by autocannon: ${autocannonRatio}.`,
  '',
  `**The floor server** (\`bench/recognizer/floor-server.ts\`: node:http and the raw best's sessions on threads of their own, reading the tensor's bytes once into the buffer that moves to a session and answering header and output, nothing else) **reached ${floorRatio} of the raw best** (median); the tuned gateway ${tunedToFloor} of the floor. What the floor loses is what any HTTP server on these cores pays per row: reading 184 KB and writing a 1 MB answer through the kernel, its event loop and collector, and the lean client, all on the two cores the raw layout has to itself.`,
  '',
  `CPU per row, raw best / tuned gateway: **${cpuRatioServer}** for the gateway alone (a client on another machine), ${cpuRatioWithClient} with the lean client's CPU added (both on these ${cores} cores). The lean client reads answers as tritonclient does (headers parsed, body bytes counted); autocannon decodes every body chunk into a string.`,
  '',
].join('\n');
await writeFile(join(RESULTS_DIR, 'recognizer.md'), markdown);
log(markdown);
