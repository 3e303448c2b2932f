/**
 * OCR throughput on an A4-like page: pages per second through the ocr pipeline in
 * process (embedded backend, shipped models), and how each page's time splits between
 * detection, crops, direction classification and recognition. Writes
 * bench/results/ocr-pages.{json,md}. Usage: npm run build && node dist/bench/ocr-pages.js [pages]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import sharp from 'sharp';
import { parseConfig } from '../gateway/config.js';
import { MemorySpendLedger } from '../gateway/ledger/spend-ledger.js';
import { loadPipelines } from '../gateway/pipelines/load-pipelines.js';
import { runPipeline } from '../gateway/pipelines/run-pipeline.js';
import { builtInTransforms } from '../gateway/pipelines/transforms/built-in.js';
import { CircuitBreakers } from '../gateway/routing/circuit-breaker.js';
import { localModelManager } from '../workers/pool/local-model-manager.js';
import { loadRepository } from '../workers/repository/load-repository.js';
import { machineInfo } from './machine-info.js';
import { row } from './markdown.js';
import { REPO_ROOT } from './settings.js';

const WIDTH = 679;
const HEIGHT = 960;
const LINES = 22;
const WORDS = [
  'invoice',
  'total',
  'amount',
  'due',
  'date',
  'customer',
  'account',
  'claim',
  'policy',
  'address',
  'payment',
  'order',
  'balance',
  'reference',
];

/** Which steps count towards which part of a page's time. */
const PARTS: Record<string, string> = {
  prepare: 'detection',
  detect: 'detection',
  boxes: 'detection',
  crop: 'crops',
  direction_input: 'direction',
  direction: 'direction',
  orient: 'direction',
  recognition_input: 'recognition',
  recognize: 'recognition',
  read: 'recognition',
};

/** A page of 22 lines of words and numbers, 20 px text, tilted by `tilt` degrees. */
async function page(seed: number, tilt: number): Promise<Buffer> {
  const lines = Array.from({ length: LINES }, (_, row) => {
    const word = (k: number): string =>
      (seed + row * 7 + k * 3) % 4 === 0
        ? String(100 + ((seed * 31 + row * 17 + k) % 9000))
        : WORDS[(seed + row * 5 + k * 11) % WORDS.length]!;
    const words = Array.from({ length: 5 }, (_, k) => word(k));
    return `<text x="48" y="${68 + row * 38}" font-family="DejaVu Sans, sans-serif" font-size="20" fill="#1a1a1a">${words.join(' ')}</text>`;
  });
  const background = '<rect width="100%" height="100%" fill="white"/>';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">${background}${lines.join('')}</svg>`;
  return sharp(await sharp(Buffer.from(svg)).png().toBuffer())
    .rotate(tilt, { background: '#ffffff' })
    .jpeg({ quality: 85 })
    .toBuffer();
}

const pages = Number(process.argv[2] ?? 8);
const info = machineInfo();
const repository = join(REPO_ROOT, 'models');
const config = parseConfig({
  MODEL_REPOSITORY: repository,
  PORT: '0',
  LOG_LEVEL: 'silent',
  CPU_COUNT: '2',
  LOAD_MODELS: 'text-detector,text-direction,text-recognizer',
});
const manager = localModelManager(config, pino({ level: 'silent' }));
await manager.loadAll();
const transforms = builtInTransforms({ maxImagePixels: config.MAX_IMAGE_PIXELS });
const ocr = (await loadPipelines(repository, await loadRepository(repository), transforms, [])).find(
  (pipeline) => pipeline.name === 'ocr',
)!;
/** The model-call path with no routes and an in-memory ledger: the bench measures the pipeline, not policy. */
const calls = {
  backend: manager,
  routes: () => [],
  breakers: new CircuitBreakers(5, 1_000),
  ledger: new MemorySpendLedger(),
  onLedgerError: () => undefined,
};

/** CPU time of the whole process (model threads included), ms: on a busy machine it says more than wall time. */
const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

interface PageRun {
  readonly ms: number;
  readonly cpuMs: number;
  readonly parts: Record<string, number>;
  readonly cpuParts: Record<string, number>;
  readonly lines: number;
}

async function readPage(image: Buffer, id: string): Promise<PageRun> {
  const started = new Map<string, number>();
  const cpuStarted = new Map<string, number>();
  const parts: Record<string, number> = {};
  const cpuParts: Record<string, number> = {};
  const begin = performance.now();
  const cpuBegin = cpuMs();
  const result = await runPipeline(
    ocr,
    { image },
    {
      calls,
      payer: { tenant: 'bench' },
      plan: 'default',
      taskId: id,
      deadline: Date.now() + 120_000,
      priority: 0,
      transforms,
      onEvent: (event) => {
        if (event.type === 'step-started') {
          started.set(event.step, performance.now());
          cpuStarted.set(event.step, cpuMs());
        }
        if (event.type === 'step-finished') {
          const part = PARTS[event.step] ?? 'other';
          parts[part] = (parts[part] ?? 0) + performance.now() - started.get(event.step)!;
          cpuParts[part] = (cpuParts[part] ?? 0) + cpuMs() - cpuStarted.get(event.step)!;
        }
      },
    },
  );
  return {
    ms: performance.now() - begin,
    cpuMs: cpuMs() - cpuBegin,
    parts,
    cpuParts,
    lines: (result.outputs['lines'] as unknown[]).length,
  };
}

const images = await Promise.all(Array.from({ length: pages }, (_, index) => page(index, [0, 3, -5, 10][index % 4]!)));
for (const [index, image] of images.slice(0, 2).entries()) await readPage(image, `warm-${index}`);
const runs: PageRun[] = [];
const begin = performance.now();
for (const [index, image] of images.entries()) runs.push(await readPage(image, `page-${index}`));
const seconds = (performance.now() - begin) / 1000;
await manager.close();

const mean = (values: readonly number[]): number => Math.round((values.reduce((sum, value) => sum + value, 0) / values.length) * 10) / 10;
const partNames = ['detection', 'crops', 'direction', 'recognition'];
const split = Object.fromEntries(partNames.map((part) => [part, mean(runs.map((run) => run.parts[part] ?? 0))]));
const cpuSplit = Object.fromEntries(partNames.map((part) => [part, mean(runs.map((run) => run.cpuParts[part] ?? 0))]));
const meanCpuMs = mean(runs.map((run) => run.cpuMs));
const result = {
  machine: info,
  note: 'shared machine: other helpers ran builds and tests on the same 2 cores while this ran; figures are indicative',
  page: { width: WIDTH, height: HEIGHT, lines: LINES, text_px: 20, detector_max_side: 960, tilts: [0, 3, -5, 10], format: 'JPEG q85' },
  pages,
  pages_per_second: Math.round((pages / seconds) * 100) / 100,
  mean_page_ms: mean(runs.map((run) => run.ms)),
  mean_lines_read: mean(runs.map((run) => run.lines)),
  mean_split_ms: split,
  /** Process CPU (all threads) per page and per part; 1000 / cpu ms is the pages/s one free core would give. */
  mean_page_cpu_ms: meanCpuMs,
  mean_split_cpu_ms: cpuSplit,
  pages_per_cpu_second: Math.round((1000 / meanCpuMs) * 100) / 100,
};
writeFileSync(join(REPO_ROOT, 'bench/results/ocr-pages.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(
  join(REPO_ROOT, 'bench/results/ocr-pages.md'),
  [
    `# OCR pages (${info.date})`,
    '',
    `${info.cpuModel}, ${info.cores} cores, load average ${info.loadAverageAtStart} at start: ` +
      'the machine was shared with other work, so the figures are indicative.',
    `A4-like page ${WIDTH}x${HEIGHT} (detector at 960 px), ${LINES} lines of 20 px text, tilted 0/3/-5/10 degrees, JPEG; ` +
      `${pages} pages read one after another, in process, shipped models.`,
    '',
    row(['measure', 'pages/s', 'ms/page', 'lines read', ...partNames.map((part) => `${part} ms`)]),
    row(['---', '---', '---', '---', ...partNames.map(() => '---')]),
    row(['wall clock', result.pages_per_second, result.mean_page_ms, result.mean_lines_read, ...partNames.map((part) => split[part]!)]),
    row(['process CPU', result.pages_per_cpu_second, meanCpuMs, result.mean_lines_read, ...partNames.map((part) => cpuSplit[part]!)]),
    '',
    'Process CPU counts every thread of the process (model instance threads included); 1000 / CPU ms per page is what one free core would read.',
    '',
  ].join('\n'),
);
console.log(JSON.stringify(result, null, 2));
process.exit(0);
