import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { batchCap } from '../../workers/batching/batch-cap.js';
import { DynamicBatcher, type BatchItem } from '../../workers/batching/dynamic-batcher.js';
import { ServingMetrics } from '../../workers/metrics/serving-metrics.js';
import { VersionPool } from '../../workers/pool/version-pool.js';
import { readModelDefinition } from '../../workers/repository/load-repository.js';
import { resolveWeights } from '../../workers/repository/resolve-weights.js';
import { instanceFactoryFor } from '../../workers/runtime/instance-factory.js';
import { requestFactory } from '../../workers/tuning/closed-loop.js';
import { parseMetrics, metricValue } from '../helpers/metrics.js';
import { TestRepository } from '../helpers/repository.js';

describe('batchCap', () => {
  it('stops at the size with the best time per row', () => {
    // A convolutional model on two cores: every batch is slower per row than one row alone.
    expect(
      batchCap(
        [
          { rows: 1, ms: 11 },
          { rows: 4, ms: 50 },
          { rows: 16, ms: 218 },
        ],
        16,
      ),
    ).toBe(1);
    expect(
      batchCap(
        [
          { rows: 1, ms: 10 },
          { rows: 4, ms: 20 },
          { rows: 16, ms: 100 },
        ],
        16,
      ),
    ).toBe(4);
  });

  it('does not cap where the largest size measured was the best (a GPU curve still falling)', () => {
    expect(
      batchCap(
        [
          { rows: 1, ms: 5 },
          { rows: 4, ms: 6 },
          { rows: 16, ms: 8 },
        ],
        32,
      ),
    ).toBe(32);
    expect(
      batchCap(
        [
          { rows: 1, ms: 5 },
          { rows: 4, ms: 6 },
        ],
        16,
      ),
    ).toBe(16);
  });

  it('takes the largest size within 10% of the best time per row, ignores sizes past the limit, and does not cap on no curve', () => {
    expect(
      batchCap(
        [
          { rows: 1, ms: 10 },
          { rows: 2, ms: 20 },
          { rows: 4, ms: 50 },
        ],
        8,
      ),
    ).toBe(2);
    expect(
      batchCap(
        [
          { rows: 1, ms: 10 },
          { rows: 4, ms: 43 },
          { rows: 16, ms: 200 },
        ],
        16,
      ),
    ).toBe(4);
    expect(
      batchCap(
        [
          { rows: 1, ms: 10 },
          { rows: 4, ms: 45 },
          { rows: 16, ms: 200 },
        ],
        16,
      ),
    ).toBe(1);
    expect(
      batchCap(
        [
          { rows: 1, ms: 10 },
          { rows: 4, ms: 44 },
          { rows: 16, ms: 170 },
        ],
        16,
      ),
    ).toBe(16);
    expect(
      batchCap(
        [
          { rows: 1, ms: 10 },
          { rows: 2, ms: 30 },
          { rows: 64, ms: 64 },
        ],
        8,
      ),
    ).toBe(1); // 64 rows at 1 ms/row cannot be formed
    expect(batchCap([], 8)).toBe(8);
    expect(batchCap([{ rows: 1, ms: 3 }], 8)).toBe(8);
  });
});

interface Item extends BatchItem {
  readonly id: number;
}

describe('DynamicBatcher with the cap a curve gives', () => {
  it('forms no batch past the cap, backlog or not', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const batcher = new DynamicBatcher<Item>({ maxBatchSize: 8, preferredBatchSizes: [8], maxQueueDelayMs: 0, maxQueueSize: 100 }, 1, {
      execute: async (_slot, items) => {
        batches.push(items.map((item) => item.id));
        if (batches.length === 1) await first;
      },
      onExpired: () => undefined,
    });
    // 2 rows per batch run fastest per row: 10, 6 and 10 ms per row.
    batcher.batchCap = batchCap(
      [
        { rows: 1, ms: 10 },
        { rows: 2, ms: 12 },
        { rows: 4, ms: 40 },
      ],
      8,
    );
    expect(batcher.batchCap).toBe(2);
    const add = (id: number) =>
      batcher.enqueue({ id, rows: 1, signature: 's', enqueuedAt: Date.now(), deadline: Date.now() + 60_000, priority: 0 });
    add(0);
    await new Promise((resolve) => setImmediate(resolve)); // request 0 takes the instance alone
    for (let id = 1; id <= 7; id += 1) add(id);
    release();
    await batcher.drain();
    expect(batches).toEqual([[0], [1, 2], [3, 4], [5, 6], [7]]);
  });
});

describe('warm-up curve from the real runtime', () => {
  let repository: TestRepository | undefined;
  afterEach(() => repository?.remove());

  it('records the time per row at each warm-up size, caps the batcher there, and reports it', async () => {
    repository = new TestRepository().copy('mlp-classifier', { warmup: { enabled: true, batch_sizes: [1, 8, 32] } });
    const definition = await readModelDefinition(repository.dir, 'mlp-classifier');
    const logger = pino({ level: 'silent' });
    const registry = new Registry();
    const pool = new VersionPool({
      definition,
      version: '1',
      modelPath: resolveWeights(definition, '1'),
      createInstance: instanceFactoryFor(logger)('onnx'),
      cpuCount: 2,
      maxImagePixels: 1e6,
      maxAudioSeconds: 60,
      logger,
      metrics: new ServingMetrics(registry),
      hardware: { cpu: 'cpu:test x2', gpus: [] },
    });
    await pool.load();
    try {
      const stats = pool.stats.snapshot('mlp-classifier', '1');
      expect(stats.warmup_curve?.map((point) => point.batch_size)).toEqual([1, 8, 32]);
      for (const point of stats.warmup_curve!) {
        expect(point.ms).toBeGreaterThan(0);
        expect(point.ms_per_row).toBeCloseTo(point.ms / point.batch_size, 2);
      }
      const expected = batchCap(
        stats.warmup_curve!.map((point) => ({ rows: point.batch_size, ms: point.ms })),
        64,
      );
      expect(stats.batch_cap).toBe(expected);
      expect(pool.batchCap).toBe(expected);
      const samples = parseMetrics(await registry.metrics());
      expect(metricValue(samples, 'switchyard_batch_cap', { model: 'mlp-classifier', version: '1' })).toBe(expected);

      const makeRequest = requestFactory(definition.config, 'mlp-classifier', '1');
      const results = await Promise.all(Array.from({ length: 48 }, () => pool.infer(makeRequest())));
      for (const result of results) expect(result.timings.batchRows).toBeLessThanOrEqual(expected);
    } finally {
      await pool.unload();
    }
    const after = parseMetrics(await registry.metrics());
    expect(after.some((sample) => sample.name === 'switchyard_batch_cap')).toBe(false);
  });
});
