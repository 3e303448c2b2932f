/**
 * `npm run bench:cancellation`: compute spent on abandoned requests, with cancellation
 * (CANCEL_ABANDONED=on) against without it (off: what the gateway did before; requests whose
 * callers left still ran). Two embedded gateways over the shipped text recognizer (fp32,
 * width-320 lines, binary tensors both ways), measured one at a time, alternating in rounds.
 * Each phase saturates the recognizer: PATIENT clients wait for their answers, as many
 * ABANDONING clients give up on each request after ABANDON_MS and send the next. Rows run come
 * from the statistics endpoint (inference_count) once the queue has drained; rows run for
 * abandoned requests = rows run - rows answered. Writes bench/results/cancellation.{json,md}.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnChild, waitUntilReady, type Child } from './child-process.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { row } from './markdown.js';
import { REPO_ROOT, RESULTS_DIR } from './settings.js';
import { freePort } from './child-server.js';

const MODEL = 'text-recognizer';
const WIDTH = 320;
const PATIENT = 8;
const ABANDONING = 8;
const ABANDON_MS = 20;
const PHASE_SECONDS = Number(process.env.CANCEL_BENCH_SECONDS ?? 15);
const ROUNDS = Number(process.env.CANCEL_BENCH_ROUNDS ?? 3);
const TARGET_REDUCTION = 0.8;

interface Phase {
  readonly mode: 'on' | 'off';
  readonly seconds: number;
  readonly patientAnswered: number;
  readonly abandonedSent: number;
  /** Abandoning clients whose answer came before they gave up (it counts as answered). */
  readonly abandonedAnswered: number;
  readonly refused: number;
  readonly rowsRun: number;
  readonly abandonedRowsRun: number;
  readonly loadAverage: number;
}

const header = Buffer.from(
  JSON.stringify({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, WIDTH], parameters: { binary_data_size: 3 * 48 * WIDTH * 4 } }],
    parameters: { binary_data_output: true },
  }),
);
const body = Buffer.concat([header, Buffer.from(Float32Array.from({ length: 3 * 48 * WIDTH }, (_, i) => ((i * 7919) % 255) / 255).buffer)]);
const headers = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) };

async function rowsRun(url: string): Promise<number> {
  const stats = (await (await fetch(`${url}/v2/models/${MODEL}/versions/1/stats`)).json()) as {
    model_stats: { inference_count: number }[];
  };
  return stats.model_stats.reduce((sum, entry) => sum + entry.inference_count, 0);
}

async function pending(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`switchyard_pending_requests{model="${MODEL}",version="1"}`));
  return Number(line?.split(' ').at(-1) ?? 0);
}

/** Until nothing waits and the count has held still (the last batch's rows recorded). */
async function drained(url: string): Promise<number> {
  let last = -1;
  for (;;) {
    const rows = await rowsRun(url);
    if (rows === last && (await pending(url)) === 0) return rows;
    last = rows;
    await sleep(500);
  }
}

async function phase(url: string, mode: 'on' | 'off'): Promise<Phase> {
  const before = await drained(url);
  const stopAt = performance.now() + PHASE_SECONDS * 1000;
  const counts = { patientAnswered: 0, abandonedSent: 0, abandonedAnswered: 0, refused: 0 };
  const target = `${url}/v2/models/${MODEL}/versions/1/infer`;
  const patient = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      const response = await fetch(target, { method: 'POST', headers, body });
      await response.arrayBuffer();
      if (response.status === 200) counts.patientAnswered += 1;
      else counts.refused += 1;
    }
  };
  const abandoning = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), ABANDON_MS);
      try {
        const response = await fetch(target, { method: 'POST', headers, body, signal: controller.signal });
        await response.arrayBuffer();
        if (response.status === 200) counts.abandonedAnswered += 1;
        else counts.refused += 1;
        // A refusal (queue full) comes at once: pace this client as if it had waited.
        await sleep(ABANDON_MS);
      } catch {
        counts.abandonedSent += 1;
      } finally {
        clearTimeout(timer);
      }
    }
  };
  await Promise.all([...Array.from({ length: PATIENT }, patient), ...Array.from({ length: ABANDONING }, abandoning)]);
  const rows = (await drained(url)) - before;
  const answered = counts.patientAnswered + counts.abandonedAnswered;
  return { mode, seconds: PHASE_SECONDS, ...counts, rowsRun: rows, abandonedRowsRun: rows - answered, loadAverage: currentLoadAverage() };
}

async function gateway(mode: 'on' | 'off', children: Child[]): Promise<string> {
  const port = await freePort();
  const env = {
    MODEL_REPOSITORY: join(REPO_ROOT, 'models'),
    LOAD_MODELS: MODEL,
    PORT: String(port),
    GRPC_PORT: '0',
    LOG_LEVEL: 'warn',
    CANCEL_ABANDONED: mode,
  };
  const child = spawnChild({ name: `gateway-${mode}`, script: join(REPO_ROOT, 'dist/gateway/server.js'), cwd: REPO_ROOT, env });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  const ready = async (): Promise<boolean> =>
    (await fetch(`${url}/v2/models/${MODEL}/versions/1/ready`).catch(() => undefined))?.status === 200;
  await waitUntilReady(ready, child, [child], 180_000, `gateway (CANCEL_ABANDONED=${mode}) ready`);
  return url;
}

const sum = (phases: readonly Phase[], key: keyof Phase): number => phases.reduce((total, p) => total + (p[key] as number), 0);

async function main(): Promise<void> {
  const machine = machineInfo();
  const children: Child[] = [];
  const phases: Phase[] = [];
  try {
    const urls = { on: await gateway('on', children), off: await gateway('off', children) };
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternating which goes first, so a trend in the machine's load favours neither.
      for (const mode of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const measured = await phase(urls[mode], mode);
        phases.push(measured);
        console.log(JSON.stringify(measured));
      }
    }
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
  const on = phases.filter((p) => p.mode === 'on');
  const off = phases.filter((p) => p.mode === 'off');
  const wastedOn = sum(on, 'abandonedRowsRun');
  const wastedOff = sum(off, 'abandonedRowsRun');
  const reduction = wastedOff > 0 ? 1 - wastedOn / wastedOff : 0;
  const summary = {
    abandonedRowsRun: { on: wastedOn, off: wastedOff },
    shareOfRowsAbandoned: { on: wastedOn / Math.max(1, sum(on, 'rowsRun')), off: wastedOff / Math.max(1, sum(off, 'rowsRun')) },
    patientAnsweredPerSecond: {
      on: sum(on, 'patientAnswered') / (on.length * PHASE_SECONDS),
      off: sum(off, 'patientAnswered') / (off.length * PHASE_SECONDS),
    },
    reduction,
    target: TARGET_REDUCTION,
    met: reduction >= TARGET_REDUCTION,
  };
  const results = {
    machine: { ...machine, loadAverageAtEnd: currentLoadAverage() },
    settings: {
      model: MODEL,
      version: '1',
      width: WIDTH,
      patient: PATIENT,
      abandoning: ABANDONING,
      abandonMs: ABANDON_MS,
      phaseSeconds: PHASE_SECONDS,
      rounds: ROUNDS,
    },
    phases,
    summary,
  };
  writeFileSync(join(RESULTS_DIR, 'cancellation.json'), `${JSON.stringify(results, null, 2)}\n`);
  const pct = (value: number): string => `${(value * 100).toFixed(1)} %`;
  const lines = [
    '# Cancellation: compute spent on abandoned requests',
    '',
    `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.nodeVersion}, commit ${machine.gitCommit}; load average ${machine.loadAverageAtStart} at start, ${results.machine.loadAverageAtEnd} at end (the machine is shared).`,
    `Embedded gateway, \`${MODEL}\` v1 (fp32), width-${WIDTH} lines, binary tensors; per phase ${PHASE_SECONDS} s: ${PATIENT} patient clients and ${ABANDONING} that abort each request after ${ABANDON_MS} ms; ${ROUNDS} rounds, CANCEL_ABANDONED off and on alternating.`,
    '',
    row(['round', 'CANCEL_ABANDONED', 'rows run', 'answered (patient)', 'abandoned sent', 'rows run for abandoned', 'refused', 'load']),
    row(['---', '---', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...phases.map((p, index) =>
      row([Math.floor(index / 2) + 1, p.mode, p.rowsRun, p.patientAnswered, p.abandonedSent, p.abandonedRowsRun, p.refused, p.loadAverage]),
    ),
    '',
    `Rows run for abandoned requests: ${wastedOff} without cancellation, ${wastedOn} with it: **${pct(reduction)} less** (target ≥ ${pct(TARGET_REDUCTION)}: ${summary.met ? 'met' : 'missed'}).`,
    `Share of all rows run that nobody received: ${pct(summary.shareOfRowsAbandoned.off)} off, ${pct(summary.shareOfRowsAbandoned.on)} on. Patient answers per second: ${summary.patientAnsweredPerSecond.off.toFixed(1)} off, ${summary.patientAnsweredPerSecond.on.toFixed(1)} on.`,
    '',
  ];
  writeFileSync(join(RESULTS_DIR, 'cancellation.md'), lines.join('\n'));
  console.log(lines.join('\n'));
  if (!summary.met) process.exitCode = 1;
}

await main();
