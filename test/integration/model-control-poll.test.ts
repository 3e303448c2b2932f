import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { buildIdentityModel } from '../helpers/identity-model.js';
import { waitFor } from '../helpers/processes.js';
import { TestRepository } from '../helpers/repository.js';

const POLL_MS = 150;
const identity = (): Uint8Array => buildIdentityModel([{ name: 'x', datatype: 'FP32', dims: ['batch', 2] }]);
const config = (
  versions: string[],
  policy: Record<string, unknown> = { specific: { versions: versions.map(Number) } },
): Record<string, unknown> => ({
  platform: 'onnx',
  versions: Object.fromEntries(versions.map((version) => [version, { weights: { source: 'file', path: 'model.onnx' } }])),
  version_policy: policy,
  max_batch_size: 4,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
  outputs: [{ name: 'out_x', datatype: 'FP32', shape: [2] }],
  price: { usd_per_compute_second: 0 },
});

const repository = new TestRepository().add('ident', config(['1']), { '1/model.onnx': identity() });
let polling: RunningServer;
/** The same repository served in the default mode: what it does not notice shows the poller did the work. */
let explicit: RunningServer;

beforeAll(async () => {
  polling = await startTestGateway(repository.dir, { MODEL_CONTROL: 'poll', MODEL_CONTROL_POLL_MS: String(POLL_MS) });
  explicit = await startTestGateway(repository.dir);
});
afterAll(async () => {
  await polling?.close();
  await explicit?.close();
  repository.remove();
});

const ready = async (server: RunningServer, model: string, version: string): Promise<boolean> =>
  (await get(`${server.url}/v2/models/${model}/versions/${version}/ready`)).status === 200;
const infer = (server: RunningServer, model: string, version: string) =>
  post(`${server.url}/v2/models/${model}/versions/${version}/infer`, {
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1.5, -2] }],
  });
const index = async (server: RunningServer): Promise<Record<string, unknown>[]> =>
  (await post(`${server.url}/v2/repository/index`, {})).json as unknown as Record<string, unknown>[];
/** Within a few poll intervals, warm-up included. */
const soon = (check: () => Promise<boolean>, what: string) => waitFor(check, 40 * POLL_MS + 10_000, what);

describe('MODEL_CONTROL=poll', () => {
  it('serves a version added to the repository (folder and config change) without a load call', async () => {
    expect(await ready(polling, 'ident', '2')).toBe(false);
    writeFileSync(join(repository.dir, 'ident', 'config.json'), JSON.stringify({ name: 'ident', ...config(['1', '2']) }));
    // The weights land after the config, as a copy might: the version is loaded once both are there.
    await new Promise((r) => setTimeout(r, POLL_MS * 3));
    repository.add('ident', config(['1', '2']), { '2/model.onnx': identity() });
    // Version 1 answers throughout: the reload warms the new pools before they replace the old.
    const statuses: number[] = [];
    await soon(async () => {
      statuses.push((await infer(polling, 'ident', '1')).status);
      return ready(polling, 'ident', '2');
    }, 'version 2 served');
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200)).toBe(true);
    const reply = await infer(polling, 'ident', '2');
    expect(reply.status).toBe(200);
    expect((reply.json.outputs as { data: number[] }[])[0]!.data).toEqual([1.5, -2]);
    expect((await infer(polling, 'ident', '1')).status).toBe(200);
    // The explicit-mode gateway still serves what it loaded at start-up.
    expect(await ready(explicit, 'ident', '2')).toBe(false);
    expect(await ready(explicit, 'ident', '1')).toBe(true);
  });

  it('never serves a version whose weights do not load: the versions before it keep serving, and the index says why', async () => {
    repository.add('ident', config(['1', '2', '3']), { '3/model.onnx': 'not an onnx model' });
    await soon(async () => (await index(polling)).some((entry) => String(entry.reason).includes('reload failed')), 'failure in the index');
    expect(await ready(polling, 'ident', '3')).toBe(false);
    expect((await infer(polling, 'ident', '3')).status).not.toBe(200);
    expect((await infer(polling, 'ident', '2')).status).toBe(200);
    const entries = (await index(polling)).filter((entry) => entry.name === 'ident');
    expect(entries.map((entry) => [entry.version, entry.state]).sort()).toEqual([
      ['1', 'READY'],
      ['2', 'READY'],
    ]);
    expect(String(entries[0]!.reason)).toMatch(/reload failed, previous versions serving: ident: .*3/);
  });

  it('keeps serving the old config when the new one does not validate, and shows the error in the index', async () => {
    writeFileSync(join(repository.dir, 'ident', 'config.json'), '{"name": "ident", "platform": ');
    const refused = async (): Promise<boolean> =>
      (await index(polling)).some((entry) => entry.name === 'ident' && String(entry.reason).includes('not valid JSON'));
    await soon(refused, 'config error in the index');
    expect((await infer(polling, 'ident', '1')).status).toBe(200);
    expect((await infer(polling, 'ident', '2')).status).toBe(200);
    // Fixed: loaded again, the error gone.
    writeFileSync(join(repository.dir, 'ident', 'config.json'), JSON.stringify({ name: 'ident', ...config(['1']) }));
    await soon(async () => !(await ready(polling, 'ident', '2')), 'version 2 retired');
    const entries = (await index(polling)).filter((entry) => entry.name === 'ident');
    expect(entries).toEqual([expect.objectContaining({ version: '1', state: 'READY', reason: '' })]);
  });

  it('loads a model added to the repository and unloads one removed from it', async () => {
    repository.add('fresh', config(['1']), { '1/model.onnx': identity() });
    await soon(() => ready(polling, 'fresh', '1'), 'new model served');
    expect((await infer(polling, 'fresh', '1')).status).toBe(200);
    rmSync(join(repository.dir, 'fresh'), { recursive: true, force: true });
    await soon(async () => !(await ready(polling, 'fresh', '1')), 'removed model unloaded');
    expect((await infer(polling, 'fresh', '1')).status).toBe(404);
    expect((await index(polling)).some((entry) => entry.name === 'fresh')).toBe(false);
    // A new model whose config does not validate is listed as FAILED, with the field.
    repository.add('typo', { ...config(['1']), max_batch_size: -1 }, { '1/model.onnx': identity() });
    await soon(async () => (await index(polling)).some((entry) => entry.name === 'typo'), 'failed model in the index');
    const [typo] = (await index(polling)).filter((entry) => entry.name === 'typo');
    expect(typo).toMatchObject({ state: 'FAILED', reason: expect.stringContaining('max_batch_size') });
  });
});
