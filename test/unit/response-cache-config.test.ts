import { afterEach, describe, expect, it } from 'vitest';
import { loadRepository } from '../../workers/repository/load-repository.js';
import { TestRepository } from '../helpers/repository.js';

const valid = {
  platform: 'onnx',
  versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
  max_batch_size: 8,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }],
  price: { usd_per_compute_second: 0.001 },
};

let repository: TestRepository | undefined;
afterEach(() => repository?.remove());

async function load(responseCache: unknown) {
  repository = new TestRepository().add('m', { ...valid, ...(responseCache === undefined ? {} : { response_cache: responseCache }) });
  return loadRepository(repository.dir);
}

describe('response_cache in a model config', () => {
  it('is off by default, and takes its defaults when enabled alone', async () => {
    expect((await load(undefined))[0]!.config.response_cache).toEqual({
      enabled: false,
      max_bytes: 64 * 1024 ** 2,
      ttl_s: 3600,
      scope: 'tenant',
    });
    repository!.remove();
    expect((await load({ enabled: true }))[0]!.config.response_cache).toEqual({
      enabled: true,
      max_bytes: 64 * 1024 ** 2,
      ttl_s: 3600,
      scope: 'tenant',
    });
    repository!.remove();
    expect((await load({ enabled: true, max_bytes: 4096, ttl_s: 5, scope: 'global' }))[0]!.config.response_cache).toEqual({
      enabled: true,
      max_bytes: 4096,
      ttl_s: 5,
      scope: 'global',
    });
  });

  it.each([
    [{ enabled: 'yes' }, 'response_cache.enabled'],
    [{ enabled: true, max_bytes: -1 }, 'response_cache.max_bytes'],
    [{ enabled: true, max_bytes: 0 }, 'response_cache.max_bytes'],
    [{ enabled: true, max_bytes: 1.5e6 + 0.5 }, 'response_cache.max_bytes'],
    [{ enabled: true, max_bytes: 1e300 }, 'response_cache.max_bytes'],
    [{ enabled: true, max_bytes: '64MB' }, 'response_cache.max_bytes'],
    [{ enabled: true, ttl_s: 0 }, 'response_cache.ttl_s'],
    [{ enabled: true, ttl_s: -5 }, 'response_cache.ttl_s'],
    [{ enabled: true, ttl_s: 1e12 }, 'response_cache.ttl_s'],
    [{ enabled: true, ttl_s: null }, 'response_cache.ttl_s'],
    [{ enabled: true, scope: 'everyone' }, 'response_cache.scope'],
    [{ enabled: true, scpoe: 'global' }, 'response_cache'],
    ['on', 'response_cache'],
    [[{ enabled: true }], 'response_cache'],
  ])('rejects %j at load, naming %s', async (value, field) => {
    await expect(load(value)).rejects.toThrow(field);
  });
});
