import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWorkerConfig } from '../../workers/config.js';
import { ModelManager } from '../../workers/pool/model-manager.js';
import type { ModelInstance } from '../../workers/runtime/runtime.js';
import { TestRepository } from '../helpers/repository.js';

const model = (platform: string, pool?: string) => ({
  platform,
  ...(pool ? { pool } : {}),
  versions: { '1': { weights: { source: 'file', path: 'weights' } } },
  max_batch_size: 4,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }],
  warmup: { enabled: false },
  price: { usd_per_compute_second: 0 },
});

/** Instances that never run: these tests only look at which models load. */
const idle: ModelInstance = {
  provider: 'stub',
  run: () => Promise.reject(new Error('not run')),
  close: async () => undefined,
  onExit: () => undefined,
};

let repository: TestRepository | undefined;
let manager: ModelManager | undefined;
afterEach(async () => {
  await manager?.close();
  repository?.remove();
});

function managerFor(repo: TestRepository): ModelManager {
  return new ModelManager({ repository: repo.dir, createInstance: () => async () => idle, cpuCount: 1, logger: pino({ level: 'silent' }) });
}

describe('worker pools', () => {
  const files = { '1/weights': 'x' };

  it('reads WORKER_POOLS as a list', () => {
    expect(parseWorkerConfig({ REDIS_URL: 'redis://127.0.0.1:6379', WORKER_POOLS: 'tf, tf-gpu' }).WORKER_POOLS).toEqual(['tf', 'tf-gpu']);
    expect(parseWorkerConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).WORKER_POOLS).toBeUndefined();
  });

  it("loads only the models of the given pools (a model's pool defaults to its platform)", async () => {
    repository = new TestRepository().add('a', model('onnx'), files).add('b', model('tf'), files).add('c', model('onnx', 'big-gpu'), files);
    manager = managerFor(repository);
    await manager.loadAll(undefined, ['tf', 'big-gpu']);
    expect(
      manager
        .loaded()
        .map((entry) => entry.definition.name)
        .sort(),
    ).toEqual(['b', 'c']);
    expect(manager.providers('b', '1')).toEqual(['stub']);
  });

  it('refuses to start when LOAD_MODELS names a model of another pool', async () => {
    repository = new TestRepository().add('a', model('onnx'), files).add('b', model('tf'), files);
    manager = managerFor(repository);
    await expect(manager.loadAll(['a', 'b'], ['tf'])).rejects.toThrow("outside this worker's pools (tf): a (pool onnx)");
  });
});
