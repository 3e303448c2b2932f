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
import { binaryLoad, type BinaryLoadResult } from './binary-load.js';
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
interface Round {
  raw: number;
  tuned: BinaryLoadResult;
  untuned: BinaryLoadResult;
  loadAverage: number;
}
const rounds: Round[] = [];
try {
  await binaryLoad(tunedGateway.url, WIDTH, CONNECTIONS, 2);
  await binaryLoad(untunedGateway.url, WIDTH, CONNECTIONS, 2);
  for (let index = 0; index < ROUNDS; index += 1) {
    const raw = (await measureRaw(modelPath, WIDTH, best, RUN_SECONDS)).rowsPerSecond;
    const tunedRun = await binaryLoad(tunedGateway.url, WIDTH, CONNECTIONS, RUN_SECONDS);
    const untunedRun = await binaryLoad(untunedGateway.url, WIDTH, CONNECTIONS, RUN_SECONDS);
    rounds.push({ raw, tuned: tunedRun, untuned: untunedRun, loadAverage: round(loadavg()[0]!, 2) });
    log(
      `round ${index + 1}: raw ${raw}, tuned gateway ${tunedRun.rowsPerSecond} (${round(tunedRun.rowsPerSecond / raw, 3)}x), untuned ${untunedRun.rowsPerSecond} (${round(untunedRun.rowsPerSecond / raw, 3)}x) rows/s`,
    );
  }
} finally {
  await tunedGateway.stop();
  await untunedGateway.stop();
}

const tunedRatio = round(median(rounds.map((r) => r.tuned.rowsPerSecond / r.raw)), 3);
const untunedRatio = round(median(rounds.map((r) => r.untuned.rowsPerSecond / r.raw)), 3);
const results = {
  date: new Date().toISOString(),
  machine: machineInfo(),
  model: `${RECOGNIZER} v1 (fp32), input [1, 3, 48, ${WIDTH}], binary tensor extension`,
  connections: CONNECTIONS,
  secondsPerRun: RUN_SECONDS,
  tunedFrom,
  tunedSettings: tuned,
  rawSearch: search,
  bestRaw: best,
  rounds,
  tunedRatio,
  untunedRatio,
  target: { tunedAtLeast: 0.9, met: tunedRatio >= 0.9 },
};
await writeFile(join(RESULTS_DIR, 'recognizer.json'), `${JSON.stringify(results, null, 2)}\n`);
const markdown = [
  '# Compute-bound: the recognizer through the gateway vs the best raw layout',
  '',
  `${results.date}, ${results.machine.cpuModel} (${cores} cores), load average at the rounds ${rounds.map((r) => r.loadAverage).join(', ')}. ${results.model}; the gateways at ${CONNECTIONS} connections (autocannon), ${RUN_SECONDS} s runs alternated with the raw best in ${ROUNDS} rounds.`,
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
    'gateway tuned rows/s',
    'tuned / raw',
    'p50 / p99 ms',
    'gateway untuned rows/s',
    'untuned / raw',
    'p50 / p99 ms',
  ]),
  row(['---', '---', '---', '---', '---', '---', '---', '---']),
  ...rounds.map((r, i) =>
    row([
      i + 1,
      r.raw,
      r.tuned.rowsPerSecond,
      round(r.tuned.rowsPerSecond / r.raw, 3),
      `${r.tuned.p50Ms} / ${r.tuned.p99Ms}`,
      r.untuned.rowsPerSecond,
      round(r.untuned.rowsPerSecond / r.raw, 3),
      `${r.untuned.p50Ms} / ${r.untuned.p99Ms}`,
    ]),
  ),
  '',
  `**Median tuned / raw best: ${tunedRatio}** (target >= 0.9: ${tunedRatio >= 0.9 ? 'met' : 'missed'}); before tuning: ${untunedRatio}.`,
  '',
].join('\n');
await writeFile(join(RESULTS_DIR, 'recognizer.md'), markdown);
log(markdown);
