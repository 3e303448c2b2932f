import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { buildIdentityModel } from '../helpers/identity-model.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { PROJECT_MODELS, TestRepository } from '../helpers/repository.js';

const TYPES = ['FP32', 'FP64', 'FP16', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'BOOL', 'BYTES'] as const;

const repository = new TestRepository().copy('mlp-classifier').add(
  'types',
  {
    platform: 'onnx',
    versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
    max_batch_size: 8,
    inputs: TYPES.map((datatype) => ({ name: datatype.toLowerCase(), datatype, shape: [2] })),
    outputs: TYPES.map((datatype) => ({ name: `out_${datatype.toLowerCase()}`, datatype, shape: [2] })),
    price: { usd_per_compute_second: 0.001, usd_per_request: 0.00001 },
  },
  { '1/model.onnx': buildIdentityModel(TYPES.map((datatype) => ({ name: datatype.toLowerCase(), datatype, dims: ['batch', 2] }))) },
);

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startTestGateway(repository.dir);
  base = server.url;
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

const vector = (seed: number): number[] => Array.from({ length: 512 }, (_, i) => Math.sin(seed * 31.7 + i * 0.37));
const mlpRequest = (seed: number, rows = 1) => ({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 512], data: Array.from({ length: rows }, (_, r) => vector(seed + r)).flat() }],
});

describe('inference over the Open Inference Protocol', () => {
  it('answers with outputs, the request id and serving metadata in headers and parameters', async () => {
    const sentAt = performance.now();
    const reply = await post(`${base}/v2/models/mlp-classifier/infer`, { id: 'req-7', ...mlpRequest(1) }, { 'x-request-id': 'trace-abc' });
    const clientMs = performance.now() - sentAt;
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ model_name: 'mlp-classifier', model_version: '1', id: 'req-7' });
    const [output] = reply.json.outputs as { name: string; shape: number[]; data: number[] }[];
    expect(output!.name).toBe('probabilities');
    expect(output!.shape).toEqual([1, 10]);
    expect(output!.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    // The gateway's own id always; the caller's is kept beside it.
    const requestId = reply.headers.get('x-request-id')!;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(reply.headers.get('x-client-request-id')).toBe('trace-abc');
    expect(reply.headers.get('x-model-version')).toBe('1');
    for (const header of ['x-queue-ms', 'x-compute-ms', 'x-batch-size', 'x-cost-usd']) {
      expect(Number(reply.headers.get(header)), header).toBeGreaterThanOrEqual(0);
    }
    expect(Number(reply.headers.get('x-compute-ms'))).toBeGreaterThan(0);
    const parameters = reply.json.parameters as Record<string, unknown>;
    expect(parameters).toMatchObject({
      request_id: requestId,
      client_request_id: 'trace-abc',
      model_version: '1',
      batch_size: Number(reply.headers.get('x-batch-size')),
    });
    expect(parameters.cost_usd).toBe(reply.headers.get('x-cost-usd'));
    // The gateway's own time holds the queue wait and the compute, and stays under what the client saw.
    const serverMs = Number(reply.headers.get('x-server-ms'));
    expect(parameters.server_ms).toBe(serverMs);
    expect(serverMs).toBeGreaterThanOrEqual(Number(reply.headers.get('x-queue-ms')) + Number(reply.headers.get('x-compute-ms')) - 0.002);
    expect(serverMs).toBeLessThan(clientMs);
    // 0.0006 USD per compute second: cost is compute share x price.
    expect(Number(parameters.cost_usd)).toBeCloseTo((Number(parameters.compute_ms) / 1000) * 0.0006, 9);
  });

  it('generates a request id when none is sent', async () => {
    const reply = await post(`${base}/v2/models/mlp-classifier/infer`, mlpRequest(2));
    expect(reply.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives each of 64 concurrent requests its own rows back, batched', async () => {
    const session = await ort.InferenceSession.create(`${PROJECT_MODELS}/mlp-classifier/1/model.onnx`);
    const seeds = Array.from({ length: 64 }, (_, i) => 1000 + i * 3);
    // Mixed row counts, so a batch holds requests of 1, 2 and 3 rows.
    const rowsOf = (i: number) => (i % 3) + 1;
    const replies = await Promise.all(seeds.map((seed, i) => post(`${base}/v2/models/mlp-classifier/infer`, mlpRequest(seed, rowsOf(i)))));
    const batchSizes = new Set<number>();
    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      batchSizes.add(Number(reply.headers.get('x-batch-size')));
      const rows = rowsOf(i);
      const input = new Float32Array(Array.from({ length: rows }, (_, r) => vector(seeds[i]! + r)).flat());
      const expected = (await session.run({ input: new ort.Tensor('float32', input, [rows, 512]) })).probabilities!.data as Float32Array;
      const [output] = reply.json.outputs as { shape: number[]; data: number[] }[];
      expect(output!.shape).toEqual([rows, 10]);
      output!.data.forEach((value, k) => expect(value).toBeCloseTo(expected[k]!, 5));
    }
    expect(Math.max(...batchSizes)).toBeGreaterThan(1);
    await session.release();
  });

  it('round-trips every datatype through the runtime as JSON', async () => {
    const data: Record<string, unknown[]> = {
      FP32: [1.5, -2.25],
      FP64: [1e-300, 3.5],
      FP16: [0.5, -65504],
      INT8: [-128, 127],
      INT16: [-32768, 32767],
      INT32: [-2147483648, 2147483647],
      INT64: [-9007199254740991, 9007199254740991],
      UINT8: [0, 255],
      UINT16: [0, 65535],
      UINT32: [0, 4294967295],
      UINT64: [0, 9007199254740991],
      BOOL: [true, false],
      BYTES: ['héllo', ''],
    };
    const reply = await post(`${base}/v2/models/types/infer`, {
      inputs: TYPES.map((datatype) => ({ name: datatype.toLowerCase(), datatype, shape: [1, 2], data: data[datatype] })),
    });
    expect(reply.status).toBe(200);
    const outputs = reply.json.outputs as { name: string; datatype: string; data: unknown[] }[];
    for (const datatype of TYPES) {
      const output = outputs.find((o) => o.name === `out_${datatype.toLowerCase()}`);
      expect(output?.datatype).toBe(datatype);
      expect(output?.data, datatype).toEqual(data[datatype]);
    }
    // The per-request price is charged on top of the compute share.
    expect(Number(reply.headers.get('x-cost-usd'))).toBeGreaterThanOrEqual(0.00001);
  });

  it('keeps INT64 and UINT64 exact over their whole range in JSON, in and out (as Triton reads and writes them)', async () => {
    // The other inputs as zeros (false, ""); these two as the text a client writes.
    const others = TYPES.filter((datatype) => datatype !== 'INT64' && datatype !== 'UINT64').map((datatype) => ({
      name: datatype.toLowerCase(),
      datatype,
      shape: [2, 2],
      data: Array(4).fill(datatype === 'BOOL' ? false : datatype === 'BYTES' ? '' : 0),
    }));
    const body = `{"inputs":[${others.map((input) => JSON.stringify(input)).join(',')},
      {"name":"int64","datatype":"INT64","shape":[2,2],"data":[9223372036854775807,-9223372036854775808,9007199254740993,-9007199254740993]},
      {"name":"uint64","datatype":"UINT64","shape":[2,2],"data":[18446744073709551615,9007199254740993,0,1]}],
      "outputs":[{"name":"out_int64"},{"name":"out_uint64"}]}`;
    const response = await fetch(`${base}/v2/models/types/infer`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    // Read as text: JSON.parse here would round them again.
    expect(text).toContain('"data":[9223372036854775807,-9223372036854775808,9007199254740993,-9007199254740993]');
    expect(text).toContain('"data":[18446744073709551615,9007199254740993,0,1]');
    const outOfRange = await post(`${base}/v2/models/types/infer`, body.replace('18446744073709551615', '18446744073709551616'));
    expect(outOfRange.status).toBe(400);
    expect(outOfRange.json).toMatchObject({ code: 'datatype_mismatch', error: expect.stringContaining('(18446744073709551616)') });
  });

  it('refuses sequence batching parameters, as Triton does for a model without a sequence batcher; their defaults pass', async () => {
    const url = `${server.url}/v2/models/mlp-classifier/infer`;
    for (const parameters of [
      { sequence_id: 5, sequence_start: true },
      { sequence_id: 'abc' },
      { sequence_start: 'yes' },
      { sequence_end: true },
    ]) {
      const refused = await post(url, mlpBody(1, parameters));
      expect(refused.status, JSON.stringify(parameters)).toBe(400);
      expect(refused.json.code).toBe('invalid_parameter');
    }
    expect((await post(url, mlpBody(1, { sequence_id: 0, sequence_start: false, sequence_end: false }))).status).toBe(200);
  });

  it('accepts nested data and returns only the outputs asked for', async () => {
    const nested = [[vector(5).slice(0, 256), vector(5).slice(256)]];
    const reply = await post(`${base}/v2/models/types/infer`, {
      inputs: TYPES.map((datatype) => ({
        name: datatype.toLowerCase(),
        datatype,
        shape: [1, 2],
        data: datatype === 'BOOL' ? [[true, true]] : datatype === 'BYTES' ? [['a', 'b']] : [[1, 2]],
      })),
      outputs: [{ name: 'out_int32' }],
    });
    expect(reply.status).toBe(200);
    expect((reply.json.outputs as { name: string; data: number[] }[]).map((o) => [o.name, o.data])).toEqual([['out_int32', [1, 2]]]);
    const flat = await post(`${base}/v2/models/mlp-classifier/infer`, {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], data: nested }],
    });
    expect(flat.status).toBe(200);
  });

  it('serves a specific version by path', async () => {
    const reply = await post(`${base}/v2/models/mlp-classifier/versions/1/infer`, mlpRequest(3));
    expect(reply.status).toBe(200);
    expect(reply.json.model_version).toBe('1');
  });
});

describe('metadata, readiness, statistics and repository endpoints', () => {
  it('reports server metadata with the extensions it supports', async () => {
    const reply = await get(`${base}/v2`);
    const extensions = ['binary_tensor_data', 'classification', 'model_repository', 'statistics', 'model_configuration', 'logging'];
    expect(reply.json).toEqual({ name: 'switchyard', version: '0.1.0', extensions });
  });

  it('reports live and ready', async () => {
    expect((await get(`${base}/v2/health/live`)).status).toBe(200);
    expect(await get(`${base}/v2/health/ready`)).toMatchObject({ status: 200, json: { ready: true } });
  });

  it('describes a model and its versions', async () => {
    const reply = await get(`${base}/v2/models/mlp-classifier`);
    expect(reply.json).toEqual({
      name: 'mlp-classifier',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 512] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 10] }],
      providers: ['cpu'],
    });
    expect((await get(`${base}/v2/models/mlp-classifier/versions/1`)).json.versions).toEqual(['1']);
    expect((await get(`${base}/v2/models/mlp-classifier/config`)).json.max_batch_size).toBe(64);
  });

  it('reports model and version readiness', async () => {
    expect(await get(`${base}/v2/models/mlp-classifier/ready`)).toMatchObject({ status: 200, json: { ready: true } });
    expect(await get(`${base}/v2/models/mlp-classifier/versions/1/ready`)).toMatchObject({ status: 200, json: { ready: true } });
  });

  it('counts inferences and executions per version, and compute phases per request as Triton does', async () => {
    type Duration = { count: number; ns: number };
    type Stats = {
      inference_count: number;
      execution_count: number;
      inference_stats: Record<'success' | 'compute_input' | 'compute_infer' | 'compute_output', Duration>;
      batch_stats: { batch_size: number; compute_input: Duration; compute_infer: Duration; compute_output: Duration }[];
    };
    const read = async (): Promise<Stats> =>
      ((await get(`${base}/v2/models/mlp-classifier/versions/1/stats`)).json.model_stats as Stats[])[0]!;
    const before = await read();
    await Promise.all(Array.from({ length: 16 }, (_, i) => post(`${base}/v2/models/mlp-classifier/infer`, mlpRequest(i))));
    const after = await read();
    const executions = after.execution_count - before.execution_count;
    expect(after.inference_count - before.inference_count).toBe(16);
    expect(executions).toBeGreaterThanOrEqual(1);
    expect(executions).toBeLessThanOrEqual(16);
    // perf_analyzer divides compute time by the success count: each request counts its batch's phases.
    for (const phase of ['compute_input', 'compute_infer', 'compute_output'] as const) {
      expect(after.inference_stats[phase].count - before.inference_stats[phase].count).toBe(16);
      expect(after.inference_stats[phase].ns).toBeGreaterThan(before.inference_stats[phase].ns);
    }
    expect(after.inference_stats.success.count - before.inference_stats.success.count).toBe(16);
    // batch_stats count executions, each with its three phases.
    const executionsIn = (stats: Stats) => stats.batch_stats.reduce((sum, entry) => sum + entry.compute_infer.count, 0);
    expect(executionsIn(after) - executionsIn(before)).toBe(executions);
    for (const entry of after.batch_stats) {
      expect(entry.compute_input.count).toBe(entry.compute_infer.count);
      expect(entry.compute_output.count).toBe(entry.compute_infer.count);
    }
    expect(((await get(`${base}/v2/models/stats`)).json.model_stats as unknown[]).length).toBe(2);
  });

  it('unloads and loads models at run time through the repository extension', async () => {
    const index = await post(`${base}/v2/repository/index`, {});
    expect(index.json).toEqual(
      expect.arrayContaining([
        { name: 'mlp-classifier', version: '1', state: 'READY', reason: '', providers: ['cpu'] },
        { name: 'types', version: '1', state: 'READY', reason: '', providers: ['cpu'] },
      ]),
    );
    expect((await post(`${base}/v2/repository/models/types/unload`, {})).status).toBe(200);
    expect((await post(`${base}/v2/repository/index`, {})).json).toEqual(
      expect.arrayContaining([{ name: 'types', state: 'UNAVAILABLE', reason: '' }]),
    );
    expect((await post(`${base}/v2/models/types/infer`, { inputs: [] })).status).toBe(404);
    expect((await post(`${base}/v2/repository/models/types/load`, {})).status).toBe(200);
    expect(await get(`${base}/v2/models/types/ready`)).toMatchObject({ status: 200, json: { ready: true } });
    expect((await post(`${base}/v2/repository/models/nope/load`, {})).status).toBe(404);
  });

  it('unloads what is not loaded as Triton does (done), and refuses a load or index body it cannot read', async () => {
    for (let i = 0; i < 2; i += 1) expect((await post(`${base}/v2/repository/models/types/unload`, {})).status).toBe(200);
    expect((await post(`${base}/v2/repository/models/nope/unload`, {})).status).toBe(200);
    // A cut-off override is not "no options": nothing loads.
    for (const [body, code] of [
      ['{"parameters":{"config":"{}"', 'invalid_json'],
      ['[1,2]', 'invalid_request'],
      ['{"parameters":"x"}', 'invalid_request'],
    ] as const) {
      expect(await post(`${base}/v2/repository/models/types/load`, body)).toMatchObject({ status: 400, json: { code } });
      expect((await get(`${base}/v2/models/types/ready`)).status).toBe(404);
    }
    expect(await post(`${base}/v2/repository/index`, '{"ready": tru')).toMatchObject({ status: 400, json: { code: 'invalid_json' } });
    expect((await post(`${base}/v2/repository/models/types/load`, '')).status).toBe(200);
    expect(await get(`${base}/v2/models/types/ready`)).toMatchObject({ status: 200, json: { ready: true } });
  });

  it('400 missing_input when a model input is left out', async () => {
    const reply = await post(`${base}/v2/models/types/infer`, {
      inputs: [{ name: 'fp32', datatype: 'FP32', shape: [1, 2], data: [1, 2] }],
    });
    expect(reply).toMatchObject({ status: 400, json: { code: 'missing_input' } });
    expect(reply.json.error).toMatch(/needs input "fp64"/);
  });

  it('400 invalid_parameter for a classification that is not a count, or of an output that is not ranked', async () => {
    const body = mlpBody(1);
    for (const classification of [-1, 2.5, 'three', 1001, true]) {
      const reply = await post(`${base}/v2/models/mlp-classifier/infer`, {
        ...body,
        outputs: [{ name: 'probabilities', parameters: { classification } }],
      });
      expect(reply, String(classification)).toMatchObject({ status: 400, json: { code: 'invalid_parameter' } });
      expect(reply.json.error).toMatch(/classification of output "probabilities" must be an integer from 0 to 1000/);
    }
    const inputs = TYPES.map((datatype) => ({
      name: datatype.toLowerCase(),
      datatype,
      shape: [1, 2],
      data: datatype === 'BYTES' ? ['a', 'b'] : datatype === 'BOOL' ? [true, false] : [1, 2],
    }));
    for (const output of ['out_fp16', 'out_bool', 'out_bytes']) {
      const reply = await post(`${base}/v2/models/types/infer`, { inputs, outputs: [{ name: output, parameters: { classification: 1 } }] });
      expect(reply, output).toMatchObject({ status: 400, json: { code: 'invalid_parameter' } });
      expect(reply.json.error).toMatch(/classification ranks integer, FP32 and FP64 outputs/);
    }
  });

  it('500 model_load_failed, with the reason, when a model cannot load at run time', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(`${repository.dir}/broken`, { recursive: true });
    writeFileSync(
      `${repository.dir}/broken/config.json`,
      JSON.stringify({
        name: 'broken',
        platform: 'onnx',
        versions: { '1': { weights: { source: 'file', path: 'missing.onnx' } } },
        max_batch_size: 1,
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: [1] }],
        price: { usd_per_compute_second: 0 },
      }),
    );
    const reply = await post(`${base}/v2/repository/models/broken/load`, {});
    expect(reply).toMatchObject({ status: 500, json: { code: 'model_load_failed' } });
    expect(reply.json.error).toMatch(/missing\.onnx does not exist/);
    expect((await post(`${base}/v2/repository/index`, {})).json).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'broken', state: 'FAILED' })]),
    );
  });

  it('501 not_in_this_mode for dead letters in embedded mode', async () => {
    expect(await get(`${base}/v2/admin/dead-letters`)).toMatchObject({ status: 501, json: { code: 'not_in_this_mode' } });
  });
});
