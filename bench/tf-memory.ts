/**
 * `npm run bench:tf-memory`: one TF instance thread (the shipped emotion model, on
 * whatever backend loads) runs BATCHES batches of 1-8 rows, each joined from two
 * requests and split again. tf.memory() in the thread and this process's RSS are
 * recorded after warm-up, every SAMPLE_EVERY batches and at the end: a leak shows as
 * numTensors or RSS climbing. Writes bench/results/tf-memory.{json,md}.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { warmupInputs } from '../workers/pool/warmup.js';
import { readModelDefinition } from '../workers/repository/load-repository.js';
import { resolveWeights } from '../workers/repository/resolve-weights.js';
import { TfInstance } from '../workers/runtime/tf/tf-instance.js';
import { machineInfo } from './machine-info.js';
import { mb, row } from './markdown.js';

const BATCHES = 2_000;
const SAMPLE_EVERY = 250;
const MODEL = 'emotion';

interface Sample {
  readonly batch: number;
  readonly numTensors: number;
  readonly tensorMb: number;
  readonly rssMb: number;
}

async function main(): Promise<void> {
  const root = resolve(import.meta.dirname, '..', '..');
  const definition = await readModelDefinition(join(root, 'models'), MODEL);
  const { instance } = await TfInstance.start({
    modelPath: resolveWeights(definition, '1'),
    format: definition.config.format ?? 'graph',
    executionProviders: definition.config.execution_providers,
    intraOpThreads: 1,
    deviceId: 0,
    label: `${MODEL}:1#bench`,
  });
  const samples: Sample[] = [];
  const sample = async (batch: number): Promise<void> => {
    const memory = await instance.memory();
    samples.push({ batch, numTensors: memory.numTensors, tensorMb: mb(memory.numBytes), rssMb: mb(process.memoryUsage().rss) });
  };
  const run = (rows: number) =>
    instance.run({
      requests: [{ inputs: warmupInputs(definition.config, rows) }, { inputs: warmupInputs(definition.config, 1) }],
      outputs: ['Identity'],
    });
  let rowsRun = 0;
  try {
    for (let i = 0; i < 20; i += 1) await run(1 + (i % 7));
    await sample(0);
    const started = performance.now();
    for (let batch = 1; batch <= BATCHES; batch += 1) {
      const rows = 1 + (batch % 7);
      await run(rows);
      rowsRun += rows + 1;
      if (batch % SAMPLE_EVERY === 0) await sample(batch);
    }
    const seconds = (performance.now() - started) / 1000;
    report(instance.provider, seconds, rowsRun, samples, root);
  } finally {
    await instance.close();
  }
}

function report(backend: string, seconds: number, rows: number, samples: readonly Sample[], root: string): void {
  const start = samples[0]!;
  const end = samples[samples.length - 1]!;
  const results = {
    machine: machineInfo(),
    model: MODEL,
    backend,
    batches: BATCHES,
    rows,
    seconds: Math.round(seconds * 10) / 10,
    start,
    end,
    numTensorsGrowth: end.numTensors - start.numTensors,
    rssGrowthMb: Math.round((end.rssMb - start.rssMb) * 100) / 100,
    /** The WASM heap grows to the largest batch's working set once and keeps it; growth after the first interval is what a leak would add. */
    rssGrowthAfterFirstIntervalMb: Math.round((end.rssMb - samples[1]!.rssMb) * 100) / 100,
    samples,
  };
  const folder = join(root, 'bench', 'results');
  writeFileSync(join(folder, 'tf-memory.json'), `${JSON.stringify(results, null, 2)}\n`);
  const lines = [
    '# TF runtime memory over many batches',
    '',
    `${BATCHES} batches of the \`${MODEL}\` model (1-8 rows each, joined from two requests and split again) in one`,
    `TF instance thread on the **${backend}** backend; ${rows} rows in ${results.seconds} s. Measured ${results.machine.date} on`,
    `${results.machine.cpuModel} (${results.machine.availableParallelism} cores), Node ${results.machine.nodeVersion}. Written by \`npm run bench:tf-memory\`.`,
    '',
    row(['after batch', 'tf numTensors', 'tf tensor MB', 'process RSS MB']),
    row(['---:', '---:', '---:', '---:']),
    ...samples.map((s) => row([s.batch === 0 ? '0 (warm)' : s.batch, s.numTensors, s.tensorMb, s.rssMb])),
    '',
    `numTensors grew by ${results.numTensorsGrowth} from warm-up to the end. RSS grew by ${results.rssGrowthMb} MB overall, of which`,
    `${results.rssGrowthAfterFirstIntervalMb} MB after batch ${SAMPLE_EVERY}: the WASM heap grows once to the largest batch's working set`,
    'and keeps it (WebAssembly memory never shrinks); a leak would keep climbing.',
    '',
  ];
  writeFileSync(join(folder, 'tf-memory.md'), lines.join('\n'));
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
