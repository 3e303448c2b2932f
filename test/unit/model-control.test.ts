import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWorkerConfig } from '../../workers/config.js';
import { modelFingerprint } from '../../workers/repository/model-fingerprint.js';
import { RepositoryPoller } from '../../workers/repository/repository-poller.js';
import { TestRepository } from '../helpers/repository.js';

const REDIS = { REDIS_URL: 'redis://127.0.0.1:6379' };
const model = (versions: string[]): Record<string, unknown> => ({
  platform: 'onnx',
  versions: Object.fromEntries(versions.map((version) => [version, { weights: { source: 'file', path: 'model.onnx' } }])),
  version_policy: { all: {} },
  max_batch_size: 1,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [1] }],
  price: { usd_per_compute_second: 0 },
});

const repositories: TestRepository[] = [];
afterEach(() => {
  for (const repository of repositories.splice(0)) repository.remove();
});
const fresh = (): TestRepository => {
  const repository = new TestRepository();
  repositories.push(repository);
  return repository;
};

describe('MODEL_CONTROL settings', () => {
  it('default to explicit with a 5 s poll period, and take poll', () => {
    const defaults = parseWorkerConfig(REDIS);
    expect([defaults.MODEL_CONTROL, defaults.MODEL_CONTROL_POLL_MS]).toEqual(['explicit', 5000]);
    const poll = parseWorkerConfig({ ...REDIS, MODEL_CONTROL: 'poll', MODEL_CONTROL_POLL_MS: '250' });
    expect([poll.MODEL_CONTROL, poll.MODEL_CONTROL_POLL_MS]).toEqual(['poll', 250]);
  });

  it('refuse an unknown mode and a period under 100 ms, naming the variable', () => {
    expect(() => parseWorkerConfig({ ...REDIS, MODEL_CONTROL: 'watch' })).toThrow(/MODEL_CONTROL:/);
    expect(() => parseWorkerConfig({ ...REDIS, MODEL_CONTROL_POLL_MS: '10' })).toThrow(/MODEL_CONTROL_POLL_MS:/);
  });
});

describe('model fingerprint', () => {
  it("changes with the config and with a served version's weights, not with other files", async () => {
    const repository = fresh().add('m', model(['1']), { '1/model.onnx': 'weights', '1/notes.md': 'a' });
    const first = await modelFingerprint(repository.dir, 'm');
    expect(first).toMatch(/^config:/);
    writeFileSync(join(repository.dir, 'm', '1', 'notes.md'), 'longer notes');
    expect(await modelFingerprint(repository.dir, 'm')).toBe(first);
    writeFileSync(join(repository.dir, 'm', '1', 'model.onnx'), 'new weights');
    const second = await modelFingerprint(repository.dir, 'm');
    expect(second).not.toBe(first);
    // Same size, another mtime: still a change.
    utimesSync(join(repository.dir, 'm', '1', 'model.onnx'), new Date(), new Date(Date.now() + 60_000));
    expect(await modelFingerprint(repository.dir, 'm')).not.toBe(second);
  });

  it('marks a config that does not validate, and is undefined without a config.json', async () => {
    const repository = fresh().add('m', model(['1']), { '1/model.onnx': 'weights' });
    writeFileSync(join(repository.dir, 'm', 'config.json'), '{"name": "m"');
    expect(await modelFingerprint(repository.dir, 'm')).toMatch(/\|invalid$/);
    rmSync(join(repository.dir, 'm', 'config.json'));
    expect(await modelFingerprint(repository.dir, 'm')).toBeUndefined();
    expect(await modelFingerprint(repository.dir, 'absent')).toBeUndefined();
  });
});

describe('repository poller', () => {
  /** Records what the poller asks for. */
  const recorder = () => {
    const calls: string[] = [];
    return {
      calls,
      models: {
        load: async (name: string) => void calls.push(`load ${name}`),
        removed: async (name: string) => (calls.push(`removed ${name}`), true),
      },
    };
  };

  it('acts on a change once it has held still for one scan, once', async () => {
    const repository = fresh().add('m', model(['1']), { '1/model.onnx': 'weights' });
    const { calls, models } = recorder();
    const poller = new RepositoryPoller({ repository: repository.dir, intervalMs: 1000, models, logger: pino({ level: 'silent' }) });
    await poller.prime();
    await poller.scan();
    expect(calls).toEqual([]);
    repository.add('m', model(['1', '2']), { '2/model.onnx': 'weights 2' });
    await poller.scan();
    expect(calls).toEqual([]);
    await poller.scan();
    await poller.scan();
    expect(calls).toEqual(['load m']);
    repository.add('n', model(['1']), { '1/model.onnx': 'weights' });
    rmSync(join(repository.dir, 'm'), { recursive: true });
    await poller.scan();
    await poller.scan();
    expect(calls).toEqual(['load m', 'removed m', 'load n']);
  });

  it('leaves models outside LOAD_MODELS and the ones not wanted (other pools) alone', async () => {
    const repository = fresh().add('m', model(['1']), { '1/model.onnx': 'w' });
    const { calls, models } = recorder();
    const poller = new RepositoryPoller({
      repository: repository.dir,
      intervalMs: 1000,
      models,
      logger: pino({ level: 'silent' }),
      only: ['m', 'p'],
      wanted: async (name) => name !== 'p',
    });
    await poller.prime();
    repository.add('other', model(['1']), { '1/model.onnx': 'w' }).add('p', model(['1']), { '1/model.onnx': 'w' });
    await poller.scan();
    await poller.scan();
    expect(calls).toEqual([]);
  });
});
