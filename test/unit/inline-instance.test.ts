import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { InlineInstance, INLINE_MAX_MS, INLINE_REST_MS } from '../../workers/pool/inline-instance.js';
import { VersionPool } from '../../workers/pool/version-pool.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import { readModelDefinition } from '../../workers/repository/load-repository.js';
import { resolveWeights } from '../../workers/repository/resolve-weights.js';
import { instanceFactoryFor } from '../../workers/runtime/instance-factory.js';
import { requestFactory } from '../../workers/tuning/closed-loop.js';
import { TestRepository } from '../helpers/repository.js';

async function mlpPool(repository: TestRepository): Promise<{ pool: VersionPool; lines: { msg: string }[] }> {
  const definition = await readModelDefinition(repository.dir, 'mlp-classifier');
  const lines: { msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg: string }) });
  const pool = new VersionPool({
    definition,
    version: '1',
    modelPath: resolveWeights(definition, '1'),
    createInstance: instanceFactoryFor(logger)('onnx'),
    cpuCount: 2,
    maxImagePixels: 1e6,
    maxAudioSeconds: 60,
    logger,
    hardware: { cpu: 'cpu:test x2', gpus: [] },
  });
  await pool.load();
  return { pool, lines };
}

const probabilities = (outputs: readonly Tensor[]): number[] => Array.from(outputs[0]!.data as Float32Array);

describe('inline runs of lone requests (inline-instance.ts)', () => {
  let repository: TestRepository | undefined;
  afterEach(() => repository?.remove());

  it('allows an inline copy only for CPU ONNX models whose inputs have a fixed shape', async () => {
    repository = new TestRepository().copy('mlp-classifier');
    const { config } = await readModelDefinition(repository.dir, 'mlp-classifier');
    expect(InlineInstance.eligible(config)).toBe(true);
    expect(InlineInstance.eligible({ ...config, platform: 'tf' })).toBe(false);
    expect(InlineInstance.eligible({ ...config, instance_group: { ...config.instance_group, kind: 'gpu' } })).toBe(false);
    expect(InlineInstance.eligible({ ...config, inputs: config.inputs.map((input) => ({ ...input, shape: [-1] })) })).toBe(false);
  });

  it('runs a request that finds the version idle inline, a burst on the threads, with the same answers', async () => {
    repository = new TestRepository().copy('mlp-classifier');
    const { pool, lines } = await mlpPool(repository);
    try {
      const allowed = pool.stats.snapshot('mlp-classifier', '1').inline;
      // This machine runs the demo MLP far under the limit; the copy is measured and kept.
      expect(allowed?.batch1_ms).toBeLessThanOrEqual(INLINE_MAX_MS);
      expect(lines.some((line) => line.msg.includes('runs lone requests inline'))).toBe(true);
      const definition = await readModelDefinition(repository.dir, 'mlp-classifier');
      const next = requestFactory(definition.config, 'mlp-classifier', '1');

      const lone = await pool.infer(next());
      expect(pool.stats.snapshot('mlp-classifier', '1').inline?.runs).toBe(1);
      expect(lone.timings.batchSize).toBe(1);

      // The inline run ends a few microtasks after its answer; a caller over the network comes later.
      await new Promise((resolve) => setImmediate(resolve));
      // Sent in one tick: the first finds the version idle, the rest queue for the threads.
      const burst = await Promise.all(Array.from({ length: 6 }, () => pool.infer(next())));
      const stats = pool.stats.snapshot('mlp-classifier', '1');
      expect(stats.inline?.runs).toBe(2);
      expect(stats.inference_count).toBe(7);
      for (const result of burst) {
        const values = probabilities(result.outputs);
        probabilities(lone.outputs).forEach((value, index) => expect(values[index]).toBeCloseTo(value, 5));
      }
    } finally {
      await pool.unload();
    }
  });

  it('times the copy on one thread and, with two cores, on two, keeping the faster, whose answers match', async () => {
    repository = new TestRepository().copy('mlp-classifier');
    const definition = await readModelDefinition(repository.dir, 'mlp-classifier');
    const modelPath = resolveWeights(definition, '1');
    const next = requestFactory(definition.config, 'mlp-classifier', '1');
    const outputs = definition.config.outputs.map((output) => output.name);
    const answers: number[][] = [];
    for (const cores of [1, 2]) {
      const started = await InlineInstance.start(modelPath, definition.config, cores);
      try {
        if (cores === 1) expect(started.threads).toBe(1);
        else expect([1, 2]).toContain(started.threads);
        expect(started.instance).toBeDefined();
        const result = await started.instance!.run({ requests: [{ inputs: next().inputs }], outputs });
        answers.push(probabilities(result.outputs[0]!));
      } finally {
        await started.instance?.close();
      }
    }
    answers[1]!.forEach((value, index) => expect(value).toBeCloseTo(answers[0]![index]!, 5));
  });

  it('makes no copy for a version that does not warm up at batch 1 (its warm-up inputs are what a copy is timed with)', async () => {
    repository = new TestRepository().copy('mlp-classifier', { warmup: { enabled: true, batch_sizes: [8] } });
    const { pool, lines } = await mlpPool(repository);
    try {
      expect(pool.inline).toBeUndefined();
      expect(pool.stats.snapshot('mlp-classifier', '1').inline).toBeUndefined();
      expect(lines.some((line) => line.msg.includes('inline'))).toBe(false);
    } finally {
      await pool.unload();
    }
  });

  it("counts an inline run's time from when the model starts, not the event loop's wait before it", async () => {
    repository = new TestRepository().copy('mlp-classifier');
    const { pool } = await mlpPool(repository);
    try {
      const definition = await readModelDefinition(repository.dir, 'mlp-classifier');
      const next = requestFactory(definition.config, 'mlp-classifier', '1');
      await pool.infer(next());
      await new Promise((resolve) => setImmediate(resolve));
      // Queued before the run's own callback, as other callers' I/O is on a busy gateway: the loop runs it first.
      const busyMs = 60;
      setImmediate(() => {
        const end = performance.now() + busyMs;
        while (performance.now() < end);
      });
      const result = await pool.infer(next());
      expect(pool.stats.snapshot('mlp-classifier', '1').inline?.runs).toBe(2);
      expect(result.timings.computeMs).toBeLessThan(busyMs / 2);
      expect(pool.inline!.averageMs).toBeLessThanOrEqual(INLINE_MAX_MS);
    } finally {
      await pool.unload();
    }
  });

  it('rests from inline runs once they average over the limit, then runs inline again', async () => {
    repository = new TestRepository().copy('mlp-classifier');
    const { pool, lines } = await mlpPool(repository);
    try {
      const definition = await readModelDefinition(repository.dir, 'mlp-classifier');
      const next = requestFactory(definition.config, 'mlp-classifier', '1');
      await pool.infer(next());
      expect(pool.stats.snapshot('mlp-classifier', '1').inline?.runs).toBe(1);
      // What a busy spell would have done to the running average.
      pool.inline!.averageMs = INLINE_MAX_MS * 1.5;
      await new Promise((resolve) => setImmediate(resolve));
      const result = await pool.infer(next());
      expect(result.outputs[0]!.data.length).toBeGreaterThan(0);
      expect(pool.stats.snapshot('mlp-classifier', '1').inline?.runs).toBe(1);
      expect(lines.some((line) => line.msg.includes('rests from inline runs'))).toBe(true);
      expect(pool.inline!.restUntil).toBeGreaterThan(Date.now() + INLINE_REST_MS / 2);
      await new Promise((resolve) => setImmediate(resolve));
      await pool.infer(next());
      expect(pool.stats.snapshot('mlp-classifier', '1').inline?.runs).toBe(1);
      // The rest over, a lone request runs inline again and the average starts from the first measure.
      pool.inline!.restUntil = Date.now() - 1;
      await new Promise((resolve) => setImmediate(resolve));
      await pool.infer(next());
      expect(pool.stats.snapshot('mlp-classifier', '1').inline?.runs).toBe(2);
      expect(pool.inline!.restUntil).toBe(0);
      expect(pool.inline!.averageMs).toBeLessThanOrEqual(INLINE_MAX_MS);
    } finally {
      await pool.unload();
    }
  });
});
