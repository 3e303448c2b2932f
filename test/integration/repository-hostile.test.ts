import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { post, startTestGateway } from '../helpers/gateway.js';
import { TestRepository } from '../helpers/repository.js';

const repository = new TestRepository().copy('mlp-classifier');
// A folder outside the repository, holding a config.json an attacker would like read.
const outside = mkdtempSync(join(tmpdir(), 'switchyard-outside-'));
let server: RunningServer;

beforeAll(async () => {
  server = await startTestGateway(repository.dir);
  writeFileSync(join(outside, 'config.json'), '{"name": "SECRET-CONTENT", oops');
  // Added after start: a model whose config is not JSON, and one whose weights are missing.
  mkdirSync(join(repository.dir, 'broken'));
  writeFileSync(join(repository.dir, 'broken', 'config.json'), '{"name": "broken", SECRET-CONTENT');
  repository.add('weightless', {
    platform: 'onnx',
    versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
    max_batch_size: 1,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [1] }],
    price: { usd_per_compute_second: 0 },
  });
});
afterAll(async () => {
  await server.close();
  repository.remove();
  rmSync(outside, { recursive: true, force: true });
});

const noLeak = (json: Record<string, unknown>): void => {
  const text = JSON.stringify(json);
  expect(text).not.toContain('SECRET');
  expect(text).not.toContain(tmpdir());
  expect(text).not.toContain(repository.dir);
};

describe('repository load and unload take model names, not paths', () => {
  const relative = `..%2F${basename(outside)}`;
  it.each([
    ['load', `..%2F..%2F..%2F${outside.slice(1).replaceAll('/', '%2F')}`],
    ['load', relative],
    ['unload', relative],
    ['load', '.hidden'],
    ['load', 'a%5Cb'],
    ['load', '%2Fetc'],
  ])('%s %s: 400 invalid_parameter before any file is read', async (action, name) => {
    const reply = await post(`${server.url}/v2/repository/models/${name}/${action}`, {});
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 400, code: 'invalid_parameter' });
    noLeak(reply.json);
  });

  it('a config that is not JSON: 500 model_load_failed naming the file relative to the repository, without its text', async () => {
    const reply = await post(`${server.url}/v2/repository/models/broken/load`, {});
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 500, code: 'model_load_failed' });
    expect(reply.json.error).toMatch(/^broken\/config\.json: is not valid JSON/);
    noLeak(reply.json);
  });

  it('missing weights: the failure, in the answer and in the repository index, carries no absolute path', async () => {
    const reply = await post(`${server.url}/v2/repository/models/weightless/load`, {});
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 500, code: 'model_load_failed' });
    expect(reply.json.error).toMatch(/weightless\/1\/model\.onnx/);
    noLeak(reply.json);
    const index = await fetch(`${server.url}/v2/repository/index`, { method: 'POST' }).then((r) => r.text());
    expect(index).toContain('weightless');
    expect(index).not.toContain(repository.dir);
  });
});
