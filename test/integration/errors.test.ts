import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { TestRepository } from '../helpers/repository.js';

const repository = new TestRepository().copy('mlp-classifier').copy('text-recognizer');
let server: RunningServer;
let infer: string;

beforeAll(async () => {
  server = await startTestGateway(repository.dir, { MAX_BODY_BYTES: String(4 * 1024 * 1024) });
  infer = `${server.url}/v2/models/mlp-classifier/infer`;
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

const input = (fields: Record<string, unknown> = {}) => ({
  name: 'input',
  datatype: 'FP32',
  shape: [1, 512],
  data: new Array(512).fill(0.5),
  ...fields,
});

async function expectError(
  reply: Promise<{ status: number; json: Record<string, unknown>; headers: Headers }>,
  status: number,
  code: string,
  text?: RegExp,
) {
  const { status: actual, json, headers } = await reply;
  expect({ status: actual, code: json.code }).toEqual({ status, code });
  expect(typeof json.error).toBe('string');
  if (text) expect(json.error).toMatch(text);
  expect(headers.get('content-type')).toMatch(/application\/json/);
  return headers;
}

describe('client mistakes are 400 with a JSON error, never 500', () => {
  it.each([
    ['malformed JSON', '{"inputs": [', 'invalid_json', /not valid JSON/],
    ['a JSON array body', '[1, 2]', 'invalid_request', /JSON object/],
    ['no inputs', '{}', 'invalid_request', /"inputs" must be a non-empty array/],
    ['empty inputs', '{"inputs": []}', 'invalid_request', /non-empty array/],
    ['an input that is not an object', '{"inputs": [3]}', 'invalid_request', /inputs\[0\] must be an object/],
    ['an id that is not a string', JSON.stringify({ id: 5, inputs: [input()] }), 'invalid_request', /"id" must be a string/],
  ])('%s', async (_name, body, code, text) => {
    await expectError(post(infer, body), 400, code, text);
  });

  it('an empty body', async () => {
    await expectError(post(infer, ''), 400, 'empty_body');
  });

  it('an unknown datatype', async () => {
    await expectError(post(infer, { inputs: [input({ datatype: 'FLOAT32' })] }), 400, 'unknown_datatype', /unknown datatype "FLOAT32"/);
  });

  it("a datatype that is not the model's", async () => {
    await expectError(
      post(infer, { inputs: [input({ datatype: 'INT32', data: new Array(512).fill(1) })] }),
      400,
      'datatype_mismatch',
      /INT32 does not match the model's FP32/,
    );
  });

  it('a value that does not fit the datatype', async () => {
    await expectError(
      post(infer, { inputs: [input({ data: [...new Array(511).fill(1), 'x'] })] }),
      400,
      'datatype_mismatch',
      /element 511/,
    );
  });

  it('data that does not fill the shape', async () => {
    await expectError(post(infer, { inputs: [input({ data: [1, 2, 3] })] }), 400, 'shape_data_mismatch', /needs 512 elements, data has 3/);
  });

  it('a shape that does not match the model', async () => {
    await expectError(
      post(infer, { inputs: [input({ shape: [1, 256], data: new Array(256).fill(0) })] }),
      400,
      'shape_mismatch',
      /\[1,256\].*\[-1,512\]/,
    );
    await expectError(post(infer, { inputs: [input({ shape: [512], data: new Array(512).fill(0) })] }), 400, 'shape_mismatch');
    await expectError(post(infer, { inputs: [input({ shape: [0, 512], data: [] })] }), 400, 'shape_mismatch', /batch dim >= 1/);
  });

  it('a negative or fractional dim', async () => {
    await expectError(
      post(infer, { inputs: [input({ shape: [-1, 512] })] }),
      400,
      'invalid_request',
      /shape must be an array of non-negative integers/,
    );
    await expectError(post(infer, { inputs: [input({ shape: [1.5, 512] })] }), 400, 'invalid_request');
  });

  it('a batch over max_batch_size', async () => {
    await expectError(
      post(infer, { inputs: [input({ shape: [65, 512], data: new Array(65 * 512).fill(0) })] }),
      400,
      'batch_too_large',
      /65 is over .* 64/,
    );
  });

  it('a missing input, an unknown one, or one given twice', async () => {
    await expectError(post(infer, { inputs: [input({ name: 'other' })] }), 400, 'unknown_input', /no input "other"/);
    await expectError(post(infer, { inputs: [input(), input()] }), 400, 'unknown_input', /more than once/);
    await expectError(post(`${server.url}/v2/models/text-recognizer/infer`, { inputs: [] }), 400, 'invalid_request');
  });

  it('an unknown output', async () => {
    await expectError(post(infer, { inputs: [input()], outputs: [{ name: 'logits' }] }), 400, 'unknown_output', /no output "logits"/);
  });

  it('bad request parameters', async () => {
    await expectError(post(infer, { inputs: [input()], parameters: { timeout_ms: -5 } }), 400, 'invalid_parameter', /timeout_ms/);
    await expectError(post(infer, { inputs: [input()], parameters: { priority: 'high' } }), 400, 'invalid_parameter', /priority/);
    await expectError(post(infer, { inputs: [input()], parameters: 'x' }), 400, 'invalid_request');
  });

  it('a variable dim of the wrong size elsewhere still needs the fixed dims', async () => {
    const bad = { name: 'x', datatype: 'FP32', shape: [1, 3, 32, 100], data: new Array(3 * 32 * 100).fill(0) };
    await expectError(post(`${server.url}/v2/models/text-recognizer/infer`, { inputs: [bad] }), 400, 'shape_mismatch', /\[-1,3,48,-1\]/);
  });
});

describe('other statuses', () => {
  it('404 for an unknown model or version, as JSON', async () => {
    await expectError(post(`${server.url}/v2/models/nope/infer`, { inputs: [input()] }), 404, 'model_not_found', /unknown model "nope"/);
    await expectError(post(`${server.url}/v2/models/mlp-classifier/versions/9/infer`, { inputs: [input()] }), 404, 'version_not_found');
    await expectError(
      post(`${server.url}/v2/models/mlp-classifier/versions/latest/infer`, { inputs: [input()] }),
      404,
      'version_not_found',
    );
    await expectError(get(`${server.url}/v2/models/nope`), 404, 'model_not_found');
    await expectError(get(`${server.url}/v2/models/nope/ready`), 404, 'model_not_found');
    await expectError(get(`${server.url}/v2/nowhere`), 404, 'route_not_found');
  });

  it('413 for a body over MAX_BODY_BYTES', async () => {
    await expectError(post(infer, 'x'.repeat(5 * 1024 * 1024)), 413, 'body_too_large');
  });

  it('415 for a media type it cannot read', async () => {
    await expectError(post(infer, '<xml/>', { 'content-type': 'application/xml' }), 415, 'unsupported_media_type');
  });

  it("415 for curl's default form type and text/plain: bodies a browser sends cross-site are never read as JSON", async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
      await expectError(post(infer, JSON.stringify({ inputs: [input()] }), { 'content-type': type }), 415, 'unsupported_media_type');
    }
  });

  it('keeps serving after every bad request above', async () => {
    expect((await post(infer, { inputs: [input()] })).status).toBe(200);
    expect((await get(`${server.url}/v2/health/ready`)).status).toBe(200);
  });
});

describe('media bodies to models that take none', () => {
  it('415 for a raw image body to a model whose input is not an image', async () => {
    const reply = await post(infer, new Uint8Array([0x89, 0x50, 0x4e, 0x47]), { 'content-type': 'image/png' });
    expect(reply).toMatchObject({ status: 415, json: { code: 'unsupported_media_type' } });
  });
});
