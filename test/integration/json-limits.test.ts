import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { postBody } from '../helpers/post-body.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_OUTPUT_MAX_BYTES, JSON_OUTPUT_MAX_VALUES } from '../../gateway/protocol/json-tensor-data.js';
import { encodeBytesElements } from '../../workers/protocol/tensor.js';
import { postBinary } from '../helpers/binary-request.js';
import { get, post } from '../helpers/gateway.js';
import { buildIdentityModel } from '../helpers/identity-model.js';
import { spawnGateway, waitFor, type Spawned } from '../helpers/processes.js';
import { TestRepository } from '../helpers/repository.js';

/**
 * What JSON can carry, in and out, against a gateway run from dist/: answers too large to
 * encode as JSON are refused (the same answer binary is sent), large V1 bodies are read on the
 * JSON thread with the errors they always had, numbers outside a float datatype's range are
 * refused, and the bare NaN / Infinity tokens tritonclient.http writes are read in float data.
 */
const repository = new TestRepository()
  .add(
    'echo',
    {
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 4,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
      outputs: [{ name: 'out_x', datatype: 'FP32', shape: [-1] }],
      warmup: { enabled: false },
      price: { usd_per_compute_second: 0 },
    },
    { '1/model.onnx': buildIdentityModel([{ name: 'x', datatype: 'FP32', dims: ['batch', 'n'] }]) },
  )
  .add(
    'text',
    {
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 4,
      inputs: [{ name: 's', datatype: 'BYTES', shape: [-1] }],
      outputs: [{ name: 'out_s', datatype: 'BYTES', shape: [-1] }],
      warmup: { enabled: false },
      price: { usd_per_compute_second: 0 },
    },
    { '1/model.onnx': buildIdentityModel([{ name: 's', datatype: 'BYTES', dims: ['batch', 'n'] }]) },
  );
let gateway: Spawned & { url: string };
let infer: string;
let predict: string;

beforeAll(async () => {
  gateway = await spawnGateway({ MODEL_REPOSITORY: repository.dir, CPU_COUNT: '1', LOG_LEVEL: 'warn' });
  infer = `${gateway.url}/v2/models/echo/infer`;
  predict = `${gateway.url}/v1/models/echo:predict`;
  await waitFor(async () => (await fetch(`${gateway.url}/v2/models/echo/ready`)).status === 200, 30_000, 'echo ready');
}, 60_000);
afterAll(() => {
  gateway?.kill();
  repository.remove();
});

const floats = (count: number) => new Uint8Array(Float32Array.from({ length: count }, (_, i) => (i % 1000) / 8).buffer);
const bitsOf = (values: number[]) => Buffer.from(Float32Array.from(values).buffer).toString('hex');

describe('JSON answers too large to encode', () => {
  it('refuses an answer of more values than JSON carries with json_output_too_large, and sends it binary when asked', async () => {
    const count = JSON_OUTPUT_MAX_VALUES + 1;
    const input = { name: 'x', datatype: 'FP32', shape: [1, count], data: floats(count) };
    const refused = await postBinary(infer, [input]);
    expect({ status: refused.status, code: refused.json().code }).toEqual({ status: 400, code: 'json_output_too_large' });
    expect(refused.json<{ error: string }>().error).toContain(`${count} values, more than the ${JSON_OUTPUT_MAX_VALUES}`);
    expect(refused.json<{ error: string }>().error).toContain('binary_data_output');

    for (const options of [
      { parameters: { binary_data_output: true } },
      { outputs: [{ name: 'out_x', parameters: { binary_data: true } }] },
    ]) {
      const binary = await postBinary(infer, [input], options);
      expect(binary.status).toBe(200);
      const headerLength = Number(binary.headers.get('inference-header-content-length'));
      expect(binary.body.subarray(headerLength).equals(Buffer.from(input.data))).toBe(true);
    }
    // The limit itself is still JSON.
    const atLimit = await postBinary(infer, [{ ...input, shape: [1, JSON_OUTPUT_MAX_VALUES], data: floats(JSON_OUTPUT_MAX_VALUES) }]);
    expect(atLimit.status).toBe(200);
    expect(atLimit.json<{ outputs: { data: number[] }[] }>().outputs[0]!.data).toHaveLength(JSON_OUTPUT_MAX_VALUES);
    expect((await get(`${gateway.url}/v2/health/live`)).status).toBe(200);
  }, 60_000);

  it('refuses an answer of more tensor bytes than JSON carries (one huge BYTES value), and sends it binary when asked', async () => {
    const text = `${gateway.url}/v2/models/text/infer`;
    const value = (length: number) => ({
      name: 's',
      datatype: 'BYTES',
      shape: [1, 1],
      data: encodeBytesElements([Buffer.alloc(length, 0x61)]),
    });
    // With its 4-byte length prefix, one byte over the limit.
    const over = value(JSON_OUTPUT_MAX_BYTES - 3);
    const refused = await postBinary(text, [over]);
    expect({ status: refused.status, code: refused.json().code }).toEqual({ status: 400, code: 'json_output_too_large' });
    expect(refused.json<{ error: string }>().error).toBe(
      `the answer holds ${JSON_OUTPUT_MAX_BYTES + 1} bytes of tensor data, more than the ${JSON_OUTPUT_MAX_BYTES} (16 MiB) sent as JSON: ask for binary outputs ("parameters": {"binary_data_output": true}, or "binary_data": true on each output)`,
    );
    const binary = await postBinary(text, [over], { parameters: { binary_data_output: true } });
    expect(binary.status).toBe(200);
    expect(binary.body.subarray(Number(binary.headers.get('inference-header-content-length'))).equals(Buffer.from(over.data))).toBe(true);
    const v1 = await post(`${gateway.url}/v1/models/text:predict`, { instances: [['a'.repeat(JSON_OUTPUT_MAX_BYTES)]] });
    expect({ status: v1.status, code: v1.json.code }).toEqual({ status: 400, code: 'json_output_too_large' });
    // At the limit it is still JSON.
    const atLimit = await postBinary(text, [value(JSON_OUTPUT_MAX_BYTES - 4)]);
    expect(atLimit.status).toBe(200);
    expect(atLimit.json<{ outputs: { data: string[] }[] }>().outputs[0]!.data[0]).toHaveLength(JSON_OUTPUT_MAX_BYTES - 4);
  }, 60_000);

  it('refuses a V1 answer over the same limit (V1 answers are JSON only)', async () => {
    const row = `[${'0.5,'.repeat(JSON_OUTPUT_MAX_VALUES)}1]`;
    const reply = await post(predict, `{"instances":[${row}]}`);
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 400, code: 'json_output_too_large' });
    expect(String(reply.json.error)).toMatch(/JSON only.*binary outputs/);
  }, 60_000);
});

describe('KServe V1 bodies on the JSON thread', () => {
  /** A V1 body of about 1.5 MiB (over the thread's 1 MiB): 4 rows of `width` numbers, `last` ending the last row. */
  const largeV1 = (last: string, width = 60_000) => {
    const row = (index: number) =>
      `[${Array.from({ length: width - 1 }, (_, i) => ((i + index) % 1000) / 8).join(',')},${index === 3 ? last : '0'}]`;
    return `{"instances":[${[0, 1, 2, 3].map(row).join(',')}]}`;
  };

  it('reads a large body there into the same tensors: the identity model answers the rows sent', async () => {
    const body = largeV1('2.5');
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const reply = await post(predict, body);
    expect(reply.status).toBe(200);
    expect(reply.json.predictions).toEqual((JSON.parse(body) as { instances: number[][] }).instances);
  }, 60_000);

  it('gives a large body the error codes a small one gets', async () => {
    const cases: [string, string][] = [
      ['"two"', 'datatype_mismatch'],
      ['1e39', 'datatype_mismatch'],
      ['[1]', 'invalid_request'],
      ['NaN', 'invalid_json'],
    ];
    for (const [last, code] of cases) {
      for (const width of [60_000, 8]) {
        const reply = await post(predict, largeV1(last, width));
        expect({ last, width, status: reply.status, code: reply.json.code }).toEqual({ last, width, status: 400, code });
      }
    }
    const cut = await post(predict, largeV1('0').slice(0, -3));
    expect(cut.json.code).toBe('invalid_json');
    const named = await post(predict, `{"instances":[{"nope":[${'0.5,'.repeat(300_000)}1]}]}`);
    expect(named.json.code).toBe('unknown_input');
    const columns = await post(predict, `{"inputs":${largeV1('"x"').slice('{"instances":'.length, -1)}}`);
    expect(columns.json.code).toBe('datatype_mismatch');
  }, 60_000);

  it('answers liveness while a large V1 body is parsed', async () => {
    // About 48 MiB of numbers, cut short so that parsing fails at its very end (400 invalid_json).
    const row = `[${'0.1234567,'.repeat(1_499_999)}0.1234567]`;
    const body = Buffer.from(`{"instances":[${[row, row, row, row].join(',')}]`);
    const order: string[] = [];
    let uploaded!: () => void;
    const uploadDone = new Promise<void>((resolve) => (uploaded = resolve));
    const big = postBody(predict, body, uploaded).then((reply) => {
      order.push('big');
      return reply;
    });
    await uploadDone;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const asked = performance.now();
    const live = await get(`${gateway.url}/v2/health/live`);
    order.push('live');
    console.log(`${(body.length / 1048576).toFixed(1)} MiB V1 body: liveness answered in ${(performance.now() - asked).toFixed(0)} ms`);
    const reply = await big;
    expect(live.status).toBe(200);
    expect({ status: reply.status, code: (JSON.parse(reply.text) as { code: string }).code }).toEqual({
      status: 400,
      code: 'invalid_json',
    });
    expect(order).toEqual(['live', 'big']);
  }, 60_000);
});

describe('numbers a float datatype cannot hold, and the NaN / Infinity tokens', () => {
  const oip = (data: string, count: number) => `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,${count}],"data":[${data}]}]}`;

  it('refuses finite numbers that round to infinity in FP32 (OIP, its JSON thread, V1) with datatype_mismatch', async () => {
    for (const value of ['3.5e38', '1e39', '-1e39', '1e308']) {
      const small = await post(infer, oip(`0,${value}`, 2));
      expect({ value, status: small.status, code: small.json.code }).toEqual({ value, status: 400, code: 'datatype_mismatch' });
      const large = await post(infer, oip(`${'0.25,'.repeat(300_000)}${value}`, 300_001));
      expect({ value, code: large.json.code }).toEqual({ value, code: 'datatype_mismatch' });
      const v1 = await post(predict, `{"instances":[[0,${value}]]}`);
      expect({ value, code: v1.json.code }).toEqual({ value, code: 'datatype_mismatch' });
    }
    // float32's largest still passes.
    const largest = await post(infer, oip('3.4028234663852886e38,-3.4028234663852886e38', 2));
    expect(largest.status).toBe(200);
  }, 60_000);

  it('reads NaN, Infinity and -Infinity in float data as the values they name, on and off the JSON thread', async () => {
    const values = [1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    const ask = ',"parameters":{"binary_data_output":true}}';
    for (const filler of [0, 300_000]) {
      const text = `${'0.25,'.repeat(filler)}1.5,NaN,Infinity,-Infinity`;
      const body = oip(text, filler + 4).slice(0, -1) + ask;
      const reply = await fetch(infer, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(reply.status).toBe(200);
      const bytes = Buffer.from(await reply.arrayBuffer());
      const tail = bytes.subarray(bytes.length - 16).toString('hex');
      expect(tail).toBe(bitsOf(values));
    }
    // Elsewhere they are not JSON.
    const shape = await post(infer, '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,NaN],"data":[1]}]}');
    expect(shape.json.code).toBe('invalid_json');
    const v1 = await post(predict, '{"instances":[[1,NaN]]}');
    expect(v1.json.code).toBe('invalid_json');
  }, 60_000);
});

const CLIENT = '/work/shared/tools/tritonclient-py';
const PYTHON = '/usr/bin/python3';
const clientMissing =
  !existsSync(join(CLIENT, 'tritonclient', 'http', '__init__.py')) ||
  spawnSync(PYTHON, ['-c', 'import numpy, rapidjson, tritonclient.http'], { env: { PYTHONPATH: CLIENT } }).status !== 0;
if (clientMissing) console.warn(`SKIPPED the tritonclient.http NaN/Infinity test: no tritonclient.http under ${CLIENT} for ${PYTHON}`);

describe.skipIf(clientMissing)('tritonclient.http JSON tensors with NaN and Infinity', () => {
  it('sends them (rapidjson bare tokens) and gets the same values back', async () => {
    const script = `
import sys, json, numpy as np, tritonclient.http as http
client = http.InferenceServerClient(sys.argv[1].replace('http://', ''))
x = np.array([[1.5, np.nan, np.inf, -np.inf, -2.0]], dtype=np.float32)
answers = {}
for binary_out in (True, False):
    i = http.InferInput('x', list(x.shape), 'FP32'); i.set_data_from_numpy(x, binary_data=False)
    out = client.infer('echo', [i], outputs=[http.InferRequestedOutput('out_x', binary_data=binary_out)]).as_numpy('out_x')
    answers['binary' if binary_out else 'json'] = out.tobytes().hex()
print(json.dumps(answers))
`;
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, gateway.url], {
      env: { PYTHONPATH: CLIENT, PATH: process.env.PATH ?? '' },
      timeout: 60_000,
    });
    const answers = JSON.parse(stdout) as { binary: string; json: string };
    const sent = bitsOf([1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -2]);
    expect(answers.binary).toBe(sent);
    // A JSON answer writes NaN and the infinities as null (JSON has no such numbers), which tritonclient reads as NaN.
    expect(answers.json).toBe(bitsOf([1.5, Number.NaN, Number.NaN, Number.NaN, -2]));
  }, 60_000);
});
