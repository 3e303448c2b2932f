import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { detectHardware } from '../../workers/pool/hardware.js';
import { ModelManager } from '../../workers/pool/model-manager.js';
import { readModelDefinition } from '../../workers/repository/load-repository.js';
import { instanceFactoryFor } from '../../workers/runtime/instance-factory.js';
import { parseTuneArgs, TuneUsageError } from '../../workers/tuning/tune-cli.js';
import { get } from '../helpers/gateway.js';
import { metricValue, scrape } from '../helpers/metrics.js';
import { startTestGateway } from '../helpers/gateway.js';
import { TestRepository } from '../helpers/repository.js';

const CLI = resolve(import.meta.dirname, '../../dist/workers/tuning/tune-cli.js');

function tune(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', CPU_COUNT: '2' }, timeout: 120_000 },
      (error, stdout, stderr) => {
        done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
      },
    );
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('npm run tune', () => {
  it('sweeps a few configurations, writes the reports and a tuned block the pool then uses', async () => {
    const repository = new TestRepository().copy('mlp-classifier');
    cleanups.push(() => repository.remove());
    const args = [
      'mlp-classifier',
      '--repository',
      repository.dir,
      '--max-configs',
      '3',
      '--seconds',
      '0.5',
      '--concurrency',
      '8',
      '--write',
    ];
    const { code, output } = await tune(args);
    expect(code, output).toBe(0);
    expect(output).toContain('req/s');
    expect(output).toContain('CHOSEN');

    const dir = join(repository.dir, 'mlp-classifier');
    const report = JSON.parse(readFileSync(join(dir, 'tuning-report.json'), 'utf8')) as {
      model: string;
      version: string;
      provider: string;
      date: string;
      machine: { hardware_key: string; cpu: string };
      configurations: { stage: string; throughput_per_s?: number; p50_ms?: number; p95_ms?: number; chosen?: boolean }[];
      chosen: Record<string, unknown>;
    };
    const key = detectHardware(2).cpu;
    expect(report).toMatchObject({ model: 'mlp-classifier', version: '1', provider: 'cpu', machine: { hardware_key: key } });
    expect(Date.parse(report.date)).not.toBeNaN();
    expect(report.configurations.length).toBeGreaterThan(0);
    expect(report.configurations.length).toBeLessThanOrEqual(3);
    expect(report.configurations[0]!.stage).toBe('configured');
    expect(report.configurations.filter((c) => c.chosen)).toHaveLength(1);
    for (const c of report.configurations) expect(c.throughput_per_s).toBeGreaterThan(0);
    const markdown = readFileSync(join(dir, 'tuning-report.md'), 'utf8');
    expect(markdown).toContain(key);
    expect(markdown).toContain('| CHOSEN |');

    // The written config passes the schema, and holds the chosen settings under this machine's key.
    const { config } = await readModelDefinition(repository.dir, 'mlp-classifier');
    const tuned = config.tuned[key]?.['1'];
    expect(tuned).toEqual(report.chosen);
    expect(tuned!.measured!.p95_ms).toBeLessThanOrEqual(tuned!.measured!.latency_budget_ms);

    // A pool on this machine uses it, and says so in its log...
    let logged = '';
    const logger = pino(
      { level: 'info' },
      new Writable({ write: (chunk: Buffer, _encoding, next) => ((logged += chunk.toString()), next()) }),
    );
    const manager = new ModelManager({ repository: repository.dir, createInstance: instanceFactoryFor(logger), cpuCount: 2, logger });
    await manager.loadAll();
    await manager.close();
    const line = logged
      .split('\n')
      .map((text) => (text ? (JSON.parse(text) as Record<string, unknown>) : {}))
      .find((entry) => entry.settings !== undefined);
    expect(line).toMatchObject({ model: 'mlp-classifier:1', settings: 'tuned', hardware: key });
    expect(line).toMatchObject({ instances: tuned!.instance_count, threads: tuned!.intra_op_threads });

    // ...and in the statistics the gateway serves, with the warm-up curve and the cap.
    const server = await startTestGateway(repository.dir);
    cleanups.push(() => server.close());
    const stats = (await get(`${server.url}/v2/models/mlp-classifier/stats`)).json.model_stats as Record<string, unknown>[];
    expect(stats[0]).toMatchObject({
      serving: {
        source: 'tuned',
        hardware: key,
        instance_count: tuned!.instance_count,
        max_batch_size: Math.max(1, tuned!.max_batch_size),
      },
    });
    expect(stats[0]!.batch_cap).toBeGreaterThanOrEqual(1);
    expect(metricValue(await scrape(`${server.url}/metrics`), 'switchyard_batch_cap', { model: 'mlp-classifier', version: '1' })).toBe(
      stats[0]!.batch_cap,
    );
  }, 180_000);

  it('on a machine without a block for it, the pool serves the hand-written settings and says so', async () => {
    const repository = new TestRepository().copy('mlp-classifier', {
      tuned: {
        'cpu:Some Other CPU x64': {
          '1': { instance_count: 4, intra_op_threads: 16, max_batch_size: 1, max_queue_delay_ms: 0, provider: 'cpu' },
        },
      },
    });
    cleanups.push(() => repository.remove());
    const server = await startTestGateway(repository.dir);
    cleanups.push(() => server.close());
    const stats = (await get(`${server.url}/v2/models/mlp-classifier/stats`)).json.model_stats as Record<string, unknown>[];
    expect(stats[0]).toMatchObject({
      serving: { source: 'config', instance_count: 1, max_batch_size: 64, preferred_batch_sizes: [16, 32, 64] },
    });
    expect(stats[0]).not.toHaveProperty('serving.hardware');
  });

  it('refuses bad arguments and unknown models with a clear message', async () => {
    expect(() => parseTuneArgs([], {})).toThrow(TuneUsageError);
    expect(() => parseTuneArgs(['m', '--seconds', 'soon'], {})).toThrow('--seconds is a positive number, not "soon"');
    expect(() => parseTuneArgs(['m', '--latency-budget-ms=-5'], {})).toThrow('--latency-budget-ms is a positive number');
    expect(() => parseTuneArgs(['m', '--turbo'], {})).toThrow(TuneUsageError);
    expect(() => parseTuneArgs(['m', '--version', 'latest'], {})).toThrow('--version is a version number');
    expect(parseTuneArgs(['m', '--quick'], { CPU_COUNT: '2' })).toMatchObject({
      model: 'm',
      maxConfigs: 4,
      measureMs: 1000,
      cpuCount: 2,
      concurrency: 16,
    });

    expect(() => parseTuneArgs(['m', '--concurrency', '99999999999'], {})).toThrow('--concurrency is at most 4096, not "99999999999"');
    expect(() => parseTuneArgs(['../../etc'], {})).toThrow('"../../etc" is not a model name');

    const repository = new TestRepository();
    cleanups.push(() => repository.remove());
    const { code, output } = await tune(['no-such-model', '--repository', repository.dir, '--quick']);
    expect(code).toBe(1);
    expect(output).toContain('cannot be read');
    expect(existsSync(join(repository.dir, 'no-such-model'))).toBe(false);
    const help = await tune(['--help']);
    expect(help).toEqual({ code: 0, output: expect.stringMatching(/^npm run tune -- <model>/) });
  });

  it('a run that measures nothing says so and leaves the last reports; an unknown version is a message, not a stack', async () => {
    const repository = new TestRepository().copy('mlp-classifier');
    cleanups.push(() => repository.remove());
    const dir = join(repository.dir, 'mlp-classifier');
    // Weights no runtime can load: every configuration fails.
    writeFileSync(join(dir, '1', 'model.onnx'), 'not a model');
    writeFileSync(join(dir, 'tuning-report.md'), 'the last measured report\n');
    const failed = await tune(['mlp-classifier', '--version', '1', '--repository', repository.dir, '--quick']);
    expect(failed.code).toBe(1);
    expect(failed.output).toContain(
      `no configuration could be measured: nothing chosen; ${join(dir, 'tuning-report.md')} is left as it was`,
    );
    expect(readFileSync(join(dir, 'tuning-report.md'), 'utf8')).toBe('the last measured report\n');
    const unknown = await tune(['mlp-classifier', '--version', '9', '--repository', repository.dir, '--quick']);
    expect(unknown.code).toBe(1);
    expect(unknown.output.trim().split('\n').at(-1)).toBe('mlp-classifier has no version 9');
    expect(unknown.output).not.toContain('    at ');
  });
});
