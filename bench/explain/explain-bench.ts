/**
 * `npm run bench:explain`: explanations per second and rows per explanation for the MLP and
 * text-direction, with live traffic beside them (live p95 with and without explanations,
 * target: within 20 %), and the faithfulness figure (top-k deletion vs k random, 50 inputs).
 * EXPLAIN_BENCH_MODE=distributed runs the side-by-side part on a gateway and a worker sharing
 * Redis (bench/results/explain-distributed.{json,md}).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { modelConfigSchema } from '../../workers/repository/model-config.js';
import { randomUUID } from 'node:crypto';
import { withChildServer } from '../child-server.js';
import { withDistributed } from '../distributed.js';
import { machineInfo } from '../machine-info.js';
import { RedisProbe } from '../redis-probe.js';
import { REDIS_URL, REPO_ROOT, RESULTS_DIR } from '../settings.js';
import { deletionCheck, type FaithfulnessResult } from './faithfulness.js';
import { explainReport } from './explain-report.js';
import { sideBySide, type SideBySide } from './side-by-side.js';
import { textLinePng, textLineTensor } from './text-lines.js';

const log = (line: string): void => console.log(`[bench:explain ${new Date().toISOString().slice(11, 19)}] ${line}`);
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const configOf = (name: string) =>
  modelConfigSchema.parse(JSON.parse(readFileSync(join(REPO_ROOT, 'models', name, 'config.json'), 'utf8')));
const mlpRow = (seed: number): number[] => Array.from({ length: 512 }, (_, i) => Math.sin(seed * 31.7 + i * 0.37));

async function ready(url: string): Promise<void> {
  for (const until = Date.now() + 120_000; Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 250))) {
    if ((await fetch(url).catch(() => undefined))?.status === 200) return;
  }
  throw new Error(`${url} did not answer 200 within 120 s`);
}

export interface ExplainBenchResults {
  readonly machine: ReturnType<typeof machineInfo>;
  /** embedded: one gateway; distributed: a gateway and a worker sharing Redis. */
  readonly mode: 'embedded' | 'distributed';
  readonly loadAverageAtEnd: number;
  readonly sideBySide: readonly SideBySide[];
  readonly faithfulness: Readonly<Record<string, FaithfulnessResult>>;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  log(`${machine.cpuModel}, ${machine.cores} cores, load average ${machine.loadAverageAtStart}`);
  const rounds = env('EXPLAIN_BENCH_ROUNDS', 3);
  const seconds = env('EXPLAIN_BENCH_SECONDS', 8);
  const options = {
    name: 'gateway',
    script: resolve(REPO_ROOT, 'dist', 'gateway', 'server.js'),
    cwd: REPO_ROOT,
    readyPath: '/v2/health/ready',
    env: { LOAD_MODELS: 'mlp-classifier,text-direction', LOG_LEVEL: 'warn', REDIS_URL: '', MODEL_REPOSITORY: resolve(REPO_ROOT, 'models') },
    readyTimeoutMs: 180_000,
  };
  const mode = process.env.EXPLAIN_BENCH_MODE === 'distributed' ? 'distributed' : 'embedded';
  const prefix = `swexplain-${randomUUID().slice(0, 8)}`;
  // In distributed mode the pacer reads the workers' counts (a heartbeat old) rather than the batcher's own.
  const serve = <T>(use: (server: { url: string }) => Promise<T>): Promise<T> =>
    mode === 'distributed'
      ? withDistributed({ redisUrl: REDIS_URL, prefix, env: { LOAD_MODELS: options.env.LOAD_MODELS } }, use)
      : withChildServer(options, use);
  const probe = mode === 'distributed' ? await RedisProbe.connect(REDIS_URL) : undefined;
  const results = await serve(async (server) => {
    const model = (name: string, verb: string): string => `${server.url}/v2/models/${name}/${verb}`;
    const mlpJson = (seed: number, extra: object = {}) =>
      JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], data: mlpRow(seed) }], ...extra });
    // The gateway is ready once the MLP is; text-direction may still be warming up on the worker.
    for (const name of ['mlp-classifier', 'text-direction']) await ready(`${server.url}/v2/models/${name}/ready`);
    const line = await textLinePng(3);
    const side: SideBySide[] = [];
    const only = process.env.EXPLAIN_BENCH_ONLY;
    if (!only || only === 'mlp-classifier')
      side.push(
        await sideBySide(
          'mlp-classifier',
          {
            url: model('mlp-classifier', 'infer'),
            body: mlpJson(1),
            contentType: 'application/json',
            perSecond: env('EXPLAIN_BENCH_MLP_RATE', 20),
          },
          { url: model('mlp-classifier', 'explain'), body: mlpJson(2), contentType: 'application/json', lanes: 1 },
          { rounds, seconds },
          log,
        ),
      );
    if (!only || only === 'text-direction')
      side.push(
        await sideBySide(
          'text-direction',
          { url: model('text-direction', 'infer'), body: line, contentType: 'image/png', perSecond: env('EXPLAIN_BENCH_TEXT_RATE', 10) },
          { url: model('text-direction', 'explain'), body: await textLinePng(4), contentType: 'image/png', lanes: 1 },
          { rounds, seconds },
          log,
        ),
      );
    // Faithfulness does not depend on the mode: measured in embedded runs.
    const inputs = mode === 'distributed' ? 0 : env('EXPLAIN_BENCH_FAITHFUL_INPUTS', 50);
    if (inputs === 0) return { sideBySide: side, faithfulness: {} as Record<string, FaithfulnessResult> };
    const mlpSpec = configOf('mlp-classifier').inputs[0]!;
    const textSpec = configOf('text-direction').inputs[0]!;
    const mlp = await deletionCheck(
      { url: server.url, headers: {}, model: 'mlp-classifier', spec: mlpSpec, output: 'probabilities', baseline: 'zeros', k: 16 },
      Array.from({ length: inputs }, (_, i) => Float32Array.from(mlpRow(i + 1))),
    );
    log(
      `faithfulness mlp-classifier: top-16 deletion ${mlp.topKChange.toFixed(4)} vs random ${mlp.randomKChange.toFixed(4)} (top wins ${mlp.topWins}/${mlp.inputs})`,
    );
    const lines = await Promise.all(Array.from({ length: inputs }, async (_, i) => textLineTensor(await textLinePng(i), textSpec.image!)));
    const text = await deletionCheck(
      {
        url: server.url,
        headers: {},
        model: 'text-direction',
        spec: textSpec,
        output: 'softmax_0.tmp_0',
        baseline: 'mean',
        patch: 8,
        k: 8,
      },
      lines,
    );
    log(
      `faithfulness text-direction: top-8 patch deletion ${text.topKChange.toFixed(4)} vs random ${text.randomKChange.toFixed(4)} (top wins ${text.topWins}/${text.inputs})`,
    );
    return { sideBySide: side, faithfulness: { 'mlp-classifier': mlp, 'text-direction': text } as Record<string, FaithfulnessResult> };
  });
  await probe?.deletePrefix(prefix).catch(() => undefined);
  await probe?.close();
  const report: ExplainBenchResults = { machine, mode, loadAverageAtEnd: Math.round(loadavg()[0]! * 100) / 100, ...results };
  const name = mode === 'distributed' ? 'explain-distributed' : 'explain';
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, `${name}.md`), explainReport(report));
  log(`wrote ${join(RESULTS_DIR, name)}.json and .md`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
