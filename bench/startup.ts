/**
 * `npm run bench:startup`: how long a gateway takes to start (embedded mode, the MLP only):
 * from spawning `node dist/gateway/server.js` to its port answering /v2/health/live, and to
 * /v2/health/ready; then the first GET /openapi.json (the document is written on first
 * request) and a second one (cached). With STARTUP_BASE=<another checkout, built> the two
 * builds run alternately, round after round, so the ratio is taken on the same (shared) machine.
 * Writes bench/results/startup.{json,md}.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { row } from './markdown.js';
import { median, round } from './stats.js';
import { REPO_ROOT, RESULTS_DIR } from './settings.js';
import { SERVING_NODE_FLAGS } from '../workers/runtime/serving-node-flags.js';

const ROUNDS = Number(process.env.STARTUP_ROUNDS ?? 7);
const PORT = Number(process.env.STARTUP_PORT ?? 18_471);

interface Start {
  readonly listeningMs: number;
  /** CPU the gateway process used until it was listening: what start-up costs, whatever else runs on the machine. */
  readonly listeningCpuMs: number;
  readonly readyMs: number;
  /** Undefined where the build has no /openapi.json. */
  readonly firstDocumentMs?: number;
  readonly cachedDocumentMs?: number;
  readonly documentBytes?: number;
}

/** User + system CPU of a process so far (Linux /proc, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

async function timeUntil(url: string, started: number, timeoutMs: number): Promise<number> {
  while (!(await answers(url))) {
    if (performance.now() - started > timeoutMs) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(5);
  }
  return performance.now() - started;
}

async function timedGet(url: string): Promise<{ ms: number; bytes: number; status: number }> {
  const started = performance.now();
  const response = await fetch(url);
  const body = await response.arrayBuffer();
  return { ms: performance.now() - started, bytes: body.byteLength, status: response.status };
}

async function startOnce(root: string): Promise<Start> {
  const base = `http://127.0.0.1:${PORT}`;
  const started = performance.now();
  const child = spawn(process.execPath, [...SERVING_NODE_FLAGS, join(root, 'dist', 'gateway', 'server.js')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(PORT),
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      MODEL_REPOSITORY: resolve(REPO_ROOT, 'models'),
      LOAD_MODELS: 'mlp-classifier',
      CPU_COUNT: '1',
    },
    stdio: 'ignore',
  });
  try {
    const listeningMs = await timeUntil(`${base}/v2/health/live`, started, 60_000);
    const listeningCpuMs = cpuMs(child.pid!);
    const readyMs = await timeUntil(`${base}/v2/health/ready`, started, 120_000);
    const first = await timedGet(`${base}/openapi.json`);
    if (first.status !== 200) return { listeningMs, listeningCpuMs, readyMs };
    const cached = await timedGet(`${base}/openapi.json`);
    return { listeningMs, listeningCpuMs, readyMs, firstDocumentMs: first.ms, cachedDocumentMs: cached.ms, documentBytes: first.bytes };
  } finally {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  }
}

const summary = (starts: readonly Start[]) => {
  const med = (pick: (start: Start) => number | undefined): number | null => {
    const values = starts.map(pick).filter((value): value is number => value !== undefined);
    return values.length > 0 ? round(median(values), 1) : null;
  };
  return {
    listeningMs: med((s) => s.listeningMs),
    listeningCpuMs: med((s) => s.listeningCpuMs),
    readyMs: med((s) => s.readyMs),
    firstDocumentMs: med((s) => s.firstDocumentMs),
    cachedDocumentMs: med((s) => s.cachedDocumentMs),
    documentBytes: starts[0]?.documentBytes ?? null,
  };
};

async function main(): Promise<void> {
  const builds: Record<string, string> = {
    this: REPO_ROOT,
    ...(process.env.STARTUP_BASE ? { base: resolve(process.env.STARTUP_BASE) } : {}),
  };
  const machine = machineInfo();
  const runs: Record<string, Start[]> = Object.fromEntries(Object.keys(builds).map((name) => [name, []]));
  for (let roundNo = 1; roundNo <= ROUNDS; roundNo += 1) {
    // Alternate which build goes first, so neither always meets a warmer file cache.
    const order = roundNo % 2 === 0 ? Object.keys(builds).reverse() : Object.keys(builds);
    for (const name of order) {
      const start = await startOnce(builds[name]!);
      runs[name]!.push(start);
      console.log(
        `[startup] round ${roundNo} ${name}: listening ${round(start.listeningMs, 1)} ms (CPU ${start.listeningCpuMs} ms), ready ${round(start.readyMs, 1)} ms, /openapi.json first ${start.firstDocumentMs === undefined ? '-' : round(start.firstDocumentMs, 1)} ms`,
      );
    }
  }
  // Each round's this − base: the machine's drift between rounds cancels out.
  const pairedDelta = (pick: (start: Start) => number) =>
    runs.base ? round(median(runs.this!.map((start, index) => pick(start) - pick(runs.base![index]!))), 1) : null;
  const results = {
    machine,
    loadAverageAtEnd: currentLoadAverage(),
    rounds: ROUNDS,
    medianPairedDeltaMs: {
      listening: pairedDelta((s) => s.listeningMs),
      listeningCpu: pairedDelta((s) => s.listeningCpuMs),
      ready: pairedDelta((s) => s.readyMs),
    },
    builds: Object.fromEntries(Object.entries(builds).map(([name, root]) => [name, { root, ...summary(runs[name]!), runs: runs[name] }])),
  };
  writeFileSync(join(RESULTS_DIR, 'startup.json'), `${JSON.stringify(results, null, 2)}\n`);
  const lines = [
    '# Gateway start-up (`npm run bench:startup`)',
    '',
    `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.nodeVersion}, commit ${machine.gitCommit}; load average ${machine.loadAverageAtStart} at start, ${results.loadAverageAtEnd} at end; ${ROUNDS} rounds, builds alternating; medians.`,
    '',
    row([
      'build',
      'spawn → listening (ms)',
      'its CPU until listening (ms)',
      'spawn → ready (ms)',
      'first /openapi.json (ms)',
      'cached (ms)',
      'document (bytes)',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...Object.entries(results.builds).map(([name, b]) =>
      row([
        name,
        String(b.listeningMs),
        String(b.listeningCpuMs),
        String(b.readyMs),
        String(b.firstDocumentMs ?? '-'),
        String(b.cachedDocumentMs ?? '-'),
        String(b.documentBytes ?? '-'),
      ]),
    ),
    '',
    ...(runs.base
      ? [
          `Median of the rounds' differences (this − base): listening ${results.medianPairedDeltaMs.listening} ms, CPU until listening ${results.medianPairedDeltaMs.listeningCpu} ms, ready ${results.medianPairedDeltaMs.ready} ms.`,
          '',
        ]
      : []),
  ];
  writeFileSync(join(RESULTS_DIR, 'startup.md'), lines.join('\n'));
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
