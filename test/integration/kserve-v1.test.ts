import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { buildIdentityModel } from '../helpers/identity-model.js';
import { TestRepository } from '../helpers/repository.js';

const TYPES = ['FP32', 'INT64', 'BOOL', 'BYTES'] as const;
const repository = new TestRepository()
  .copy('mlp-classifier')
  .add(
    'types',
    {
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 8,
      inputs: TYPES.map((datatype) => ({ name: datatype.toLowerCase(), datatype, shape: [2] })),
      outputs: TYPES.map((datatype) => ({ name: `out_${datatype.toLowerCase()}`, datatype, shape: [2] })),
      price: { usd_per_compute_second: 0 },
    },
    { '1/model.onnx': buildIdentityModel(TYPES.map((datatype) => ({ name: datatype.toLowerCase(), datatype, dims: ['batch', 2] }))) },
  )
  .add(
    'unbatched',
    {
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 0,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }],
      outputs: [{ name: 'out_x', datatype: 'FP32', shape: [2, 3] }],
      price: { usd_per_compute_second: 0 },
    },
    { '1/model.onnx': buildIdentityModel([{ name: 'x', datatype: 'FP32', dims: [2, 3] }]) },
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

/** The OIP answer for the same rows: what every V1 answer is checked against. */
async function oipRows(rows: number[][]): Promise<number[][]> {
  const reply = await post(`${base}/v2/models/mlp-classifier/infer`, {
    inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 512], data: rows.flat() }],
  });
  expect(reply.status).toBe(200);
  const data = (reply.json.outputs as { data: number[] }[])[0]!.data;
  return rows.map((_, row) => data.slice(row * 10, (row + 1) * 10));
}

const expectRows = (actual: unknown, expected: number[][]) => {
  expect(Array.isArray(actual)).toBe(true);
  const rows = actual as number[][];
  expect(rows).toHaveLength(expected.length);
  rows.forEach((row, index) => row.forEach((value, i) => expect(value).toBeCloseTo(expected[index]![i]!, 6)));
};

describe('KServe V1 predict', () => {
  it('answers instances (plain, named) and columns with the rows the OIP route gives, through the same pipeline', async () => {
    const rows = [vector(1), vector(2), vector(3)];
    const expected = await oipRows(rows);
    const plain = await post(`${base}/v1/models/mlp-classifier:predict`, { instances: rows });
    expect(plain.status).toBe(200);
    expect(Object.keys(plain.json)).toEqual(['predictions']);
    expectRows(plain.json.predictions, expected);
    expect(plain.headers.get('x-model-version')).toBe('1');
    expect(plain.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(plain.headers.get('x-compute-ms'))).toBeGreaterThan(0);
    const named = await post(`${base}/v1/models/mlp-classifier:predict`, { instances: rows.map((row) => ({ input: row })) });
    expectRows(named.json.predictions, expected);
    const columns = await post(`${base}/v1/models/mlp-classifier:predict`, { inputs: rows });
    expectRows(columns.json.predictions, expected);
    const namedColumns = await post(`${base}/v1/models/mlp-classifier/versions/1:predict`, { inputs: { input: rows } });
    expect(namedColumns.status).toBe(200);
    expectRows(namedColumns.json.predictions, expected);
    // Idempotency keys, as on the OIP route: the second call is the stored answer, and the same key
    // with an OIP body is a different request.
    const keyed = { 'idempotency-key': `v1-${Date.now()}` };
    const first = await post(`${base}/v1/models/mlp-classifier:predict`, { instances: rows }, keyed);
    const again = await post(`${base}/v1/models/mlp-classifier:predict`, { instances: rows }, keyed);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json).toEqual(first.json);
    const oip = await post(
      `${base}/v2/models/mlp-classifier/infer`,
      { inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 512], data: rows.flat() }] },
      keyed,
    );
    expect([oip.status, oip.json.code]).toEqual([422, 'idempotency_key_reused']);
  });

  it('names every output per row for a model with several: 64-bit integers, booleans, text, and bytes sent as {"b64"}', async () => {
    const binary = Buffer.from('é x', 'utf8').toString('base64');
    const reply = await post(`${base}/v1/models/types:predict`, {
      instances: [
        { fp32: [0.5, -1.25], int64: [9007199254740991, -3], bool: [true, false], bytes: ['hé', { b64: binary }] },
        { fp32: [2, 3], int64: [0, 1], bool: [false, true], bytes: [{ b64: Buffer.from('plain').toString('base64') }, ''] },
      ],
    });
    expect(reply.status).toBe(200);
    expect(reply.json.predictions).toEqual([
      { out_fp32: [0.5, -1.25], out_int64: [9007199254740991, -3], out_bool: [true, false], out_bytes: ['hé', 'é x'] },
      { out_fp32: [2, 3], out_int64: [0, 1], out_bool: [false, true], out_bytes: ['plain', ''] },
    ]);
  });

  it('keeps INT64 exact past 2^53 in V1 bodies and answers, as TensorFlow Serving does', async () => {
    const body =
      '{"instances": [{"fp32": [0, 1], "int64": [9223372036854775807, -9223372036854775808], "bool": [true, false], "bytes": ["a", "b"]},' +
      ' {"fp32": [0, 1], "int64": [9007199254740993, 0], "bool": [true, false], "bytes": ["a", "b"]}]}';
    const response = await fetch(`${base}/v1/models/types:predict`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(text).toContain('"out_int64":[9223372036854775807,-9223372036854775808]');
    expect(text).toContain('"out_int64":[9007199254740993,0]');
  });

  it('takes one instance for a model without a batch dimension and answers it nested as its shape', async () => {
    const value = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const reply = await post(`${base}/v1/models/unbatched:predict`, { instances: [value] });
    expect(reply.status).toBe(200);
    expect(reply.json.predictions).toEqual([value]);
    const two = await post(`${base}/v1/models/unbatched:predict`, { instances: [value, value] });
    expect(two.status).toBe(400);
    expect(two.json.code).toBe('invalid_request');
  });

  it('reports readiness and the models a key may call', async () => {
    const ready = await get(`${base}/v1/models/mlp-classifier`);
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ name: 'mlp-classifier', ready: true });
    const missing = await get(`${base}/v1/models/nope`);
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('model_not_found');
    const list = await get(`${base}/v1/models`);
    expect(list.json.models).toEqual(['mlp-classifier', 'types', 'unbatched']);
    // Only what answers now: an unloaded model leaves the list until it is loaded again.
    expect((await post(`${base}/v2/repository/models/types/unload`, {})).status).toBe(200);
    expect((await get(`${base}/v1/models`)).json.models).toEqual(['mlp-classifier', 'unbatched']);
    expect((await post(`${base}/v2/repository/models/types/load`, {})).status).toBe(200);
    expect((await get(`${base}/v1/models`)).json.models).toEqual(['mlp-classifier', 'types', 'unbatched']);
  });

  it('refuses every malformed call with a JSON error and its code', async () => {
    const predict = `${base}/v1/models/mlp-classifier:predict`;
    const row = vector(4);
    const cases: [string, string | object, number, string, Record<string, string>?][] = [
      [`${base}/v1/models/mlp-classifier`, { instances: [row] }, 404, 'route_not_found'],
      [`${base}/v1/models/mlp-classifier:explain`, { instances: [row] }, 404, 'route_not_found'],
      [`${base}/v1/models/nope:predict`, { instances: [row] }, 404, 'model_not_found'],
      [`${base}/v1/models/mlp-classifier/versions/9:predict`, { instances: [row] }, 404, 'version_not_found'],
      [predict, '{"instances": [', 400, 'invalid_json'],
      [predict, '[1, 2]', 400, 'invalid_request'],
      [predict, {}, 400, 'invalid_request'],
      [predict, { instances: [row], inputs: [row] }, 400, 'invalid_request'],
      [predict, { instances: [] }, 400, 'invalid_request'],
      [predict, { instances: 'row' }, 400, 'invalid_request'],
      [predict, { instances: [row, row.slice(1)] }, 400, 'invalid_request'],
      [predict, { instances: [[row, 1]] }, 400, 'invalid_request'],
      [predict, { instances: [row, { input: row }] }, 400, 'invalid_request'],
      [predict, { instances: [row.slice(1)] }, 400, 'shape_mismatch'],
      [predict, { instances: [{ nope: row }] }, 400, 'unknown_input'],
      [predict, { instances: [row.map(String)] }, 400, 'datatype_mismatch'],
      [predict, { inputs: { nope: [row] } }, 400, 'unknown_input'],
      [`${base}/v1/models/types:predict`, { instances: [[1, 2]] }, 400, 'invalid_request'],
      [`${base}/v1/models/types:predict`, { instances: [{ fp32: [1, 2] }] }, 400, 'missing_input'],
      [
        `${base}/v1/models/types:predict`,
        { instances: [{ fp32: [1, 2], int64: [1, 2], bool: [true, true], bytes: [1, 2] }] },
        400,
        'datatype_mismatch',
      ],
      [predict, { instances: [row] }, 415, 'unsupported_media_type', { 'content-type': 'text/plain' }],
      // Not base64: refused, not decoded leniently to other bytes ("!!!" was an empty string).
      ...['!!!', 'aGk=aGk=', 'a', 'aG k='].map((b64): [string, object, number, string] => [
        `${base}/v1/models/types:predict`,
        { instances: [{ fp32: [1, 2], int64: [1, 2], bool: [true, true], bytes: ['a', { b64 }] }] },
        400,
        'datatype_mismatch',
      ]),
      // An ONNX string tensor holds UTF-8 text only.
      [
        `${base}/v1/models/types:predict`,
        {
          instances: [
            { fp32: [1, 2], int64: [1, 2], bool: [true, true], bytes: ['a', { b64: Buffer.from([0xff, 0xfe]).toString('base64') }] },
          ],
        },
        400,
        'datatype_mismatch',
      ],
    ];
    for (const [url, body, status, code, headers] of cases) {
      const reply = await post(url, body, headers);
      expect({ url, body: JSON.stringify(body).slice(0, 60), status: reply.status, code: reply.json.code }).toEqual({
        url,
        body: JSON.stringify(body).slice(0, 60),
        status,
        code,
      });
      expect(typeof reply.json.error).toBe('string');
    }
    const nested = { instances: [JSON.parse(`${'['.repeat(100)}1${']'.repeat(100)}`)] };
    const deep = await post(predict, nested);
    expect(deep.status).toBe(400);
    expect(deep.json.code).toBe('invalid_request');
    // The gateway still answers.
    expect((await post(predict, { instances: [row] })).status).toBe(200);
  });
});
