import { connect, type IncomingHttpHeaders } from 'node:http2';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadInferenceService } from '../../gateway/grpc/load-service.js';
import {
  credentials,
  loadPackageDefinition,
  makeGenericClientConstructor,
  Metadata,
  status,
  type Client,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { InferenceClient, floatsOf, mlpRequest, rawFloats } from '../helpers/grpc-client.js';
import { TYPED, everyTypeRepository, inputName } from '../helpers/every-type-fixture.js';
import { MlpReference, mlpVector } from '../helpers/mlp-reference.js';
import { freePort } from '../helpers/redis.js';

const repository = everyTypeRepository();

let server: RunningServer;
let client: InferenceClient;
let reference: MlpReference;

beforeAll(async () => {
  // No tenants: the open loopback gateway, every caller the local admin.
  server = await startTestGateway(repository.dir, { GRPC_PORT: String(await freePort()), GRPC_MAX_MESSAGE_BYTES: String(1024 * 1024) });
  client = new InferenceClient(server.grpcAddress!);
  reference = await MlpReference.load();
});
afterAll(async () => {
  client.close();
  await server.close();
  repository.remove();
});

type InferResponse = { outputs: { name: string; datatype: string; shape: string[] }[]; raw_output_contents: Buffer[] };

const everyTypeRequest = (typed: boolean): object => ({
  model_name: 'every-type',
  inputs: TYPED.map(({ datatype, contents }) => ({ name: inputName(datatype), datatype, shape: [1, 3], ...(typed ? { contents } : {}) })),
  ...(typed ? {} : { raw_input_contents: TYPED.map(({ raw }) => raw) }),
});

describe('tensors', () => {
  it('takes every datatype in raw_input_contents and answers in raw_output_contents', async () => {
    const reply = await client.call<InferResponse>('ModelInfer', everyTypeRequest(false));
    expect(reply.error).toBeUndefined();
    const byName = new Map(
      reply.message!.outputs.map((output, index) => [output.name, { output, raw: reply.message!.raw_output_contents[index]! }]),
    );
    for (const { datatype, raw } of TYPED) {
      const answer = byName.get(`out_${inputName(datatype)}`)!;
      expect(answer.output, datatype).toEqual({ name: `out_${inputName(datatype)}`, datatype, shape: ['1', '3'] });
      expect(answer.raw.equals(raw), datatype).toBe(true);
    }
  });

  it('takes every datatype in typed contents, the same tensors as raw', async () => {
    const raw = await client.call<InferResponse>('ModelInfer', everyTypeRequest(false));
    const typed = await client.call<InferResponse>('ModelInfer', everyTypeRequest(true));
    expect(typed.error).toBeUndefined();
    expect(typed.message!.raw_output_contents.map((bytes) => bytes.toString('hex'))).toEqual(
      raw.message!.raw_output_contents.map((bytes) => bytes.toString('hex')),
    );
  });

  it('takes FP16 raw, and says so when FP16 comes as typed contents', async () => {
    const bits = Buffer.from(Uint16Array.of(0x3c00, 0xc000, 0x3555).buffer);
    const reply = await client.call<InferResponse>('ModelInfer', {
      model_name: 'half',
      inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 3] }],
      raw_input_contents: [bits],
    });
    expect(reply.message!.raw_output_contents[0]!.equals(bits)).toBe(true);
    const typed = await client.call('ModelInfer', {
      model_name: 'half',
      inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 3], contents: { fp32_contents: [1, -2, 0.33] } }],
    });
    expect(typed.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(typed.error?.details).toContain('raw_input_contents');
  });

  it('answers the MLP exactly as onnxruntime computes it, batched rows included', async () => {
    const rows = [mlpVector(11), mlpVector(12)];
    const reply = await client.call<InferResponse>('ModelInfer', {
      model_name: 'mlp-classifier',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 512] }],
      raw_input_contents: [rawFloats(rows.flat())],
    });
    const values = floatsOf(reply.message!.raw_output_contents[0]!);
    expect(await reference.matches(11, values.slice(0, 10))).toBe(true);
    expect(await reference.matches(12, values.slice(10))).toBe(true);
  });
});

describe('errors', () => {
  const expectError = async (request: object, code: status, errorCode: string): Promise<ServiceError> => {
    const reply = await client.call('ModelInfer', request);
    expect(reply.error?.code, errorCode).toBe(code);
    expect(reply.headers['x-error-code']).toBe(errorCode);
    expect(reply.headers['x-request-id']).toBeTruthy();
    return reply.error!;
  };

  it('gives the same message as HTTP for the same mistake', async () => {
    const short = mlpVector(1).slice(0, 511);
    const error = await expectError(mlpRequest('mlp-classifier', short), status.INVALID_ARGUMENT, 'shape_mismatch');
    const http = await post(`${server.url}/v2/models/mlp-classifier/infer`, {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 511], data: short }],
    });
    expect(http.status).toBe(400);
    expect(error.details).toBe(http.json.error);
  });

  it('maps each kind of bad request onto its code', async () => {
    await expectError(mlpRequest('no-such-model', mlpVector(1)), status.NOT_FOUND, 'model_not_found');
    await expectError(mlpRequest('mlp-classifier', mlpVector(1), { model_version: '9' }), status.NOT_FOUND, 'version_not_found');
    await expectError({ model_name: 'mlp-classifier', inputs: [] }, status.INVALID_ARGUMENT, 'invalid_request');
    await expectError(
      {
        model_name: 'mlp-classifier',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512] }],
        raw_input_contents: [Buffer.alloc(100)],
      },
      status.INVALID_ARGUMENT,
      'shape_data_mismatch',
    );
    await expectError(
      {
        model_name: 'mlp-classifier',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512] }],
        raw_input_contents: [rawFloats(mlpVector(1)), Buffer.alloc(4)],
      },
      status.INVALID_ARGUMENT,
      'invalid_request',
    );
    await expectError(
      {
        model_name: 'mlp-classifier',
        inputs: [{ name: 'input', datatype: 'FP8', shape: [1, 512] }],
        raw_input_contents: [rawFloats(mlpVector(1))],
      },
      status.INVALID_ARGUMENT,
      'unknown_datatype',
    );
    await expectError(
      { model_name: 'mlp-classifier', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], contents: { int_contents: [1, 2] } }] },
      status.INVALID_ARGUMENT,
      'datatype_mismatch',
    );
    await expectError(
      { model_name: 'every-type', inputs: [{ name: 'in_int8', datatype: 'INT8', shape: [1, 3], contents: { int_contents: [300, 0, 0] } }] },
      status.INVALID_ARGUMENT,
      'datatype_mismatch',
    );
    await expectError(
      {
        model_name: 'every-type',
        inputs: [{ name: 'in_bytes', datatype: 'BYTES', shape: [1, 3] }],
        raw_input_contents: [Buffer.from([9, 0, 0, 0, 1])],
      },
      status.INVALID_ARGUMENT,
      'invalid_binary_body',
    );
    await expectError(
      {
        model_name: 'mlp-classifier',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], contents: { fp32_contents: [1] } }],
        raw_input_contents: [rawFloats(mlpVector(1))],
      },
      status.INVALID_ARGUMENT,
      'invalid_request',
    );
    await expectError(
      mlpRequest('mlp-classifier', mlpVector(1), { parameters: { timeout_ms: { string_param: 'soon' } } }),
      status.INVALID_ARGUMENT,
      'invalid_parameter',
    );
  });

  it('refuses a message over GRPC_MAX_MESSAGE_BYTES with RESOURCE_EXHAUSTED, and keeps serving', async () => {
    const reply = await client.call('ModelInfer', {
      model_name: 'mlp-classifier',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1024, 512] }],
      raw_input_contents: [Buffer.alloc(1024 * 512 * 4)],
    });
    expect(reply.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect((await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)))).error).toBeUndefined();
  });

  it('answers UNIMPLEMENTED for an RPC the service does not have', async () => {
    const raw = new (makeGenericClientConstructor({}, 'raw'))(server.grpcAddress!, credentials.createInsecure()) as Client;
    const error = await new Promise<ServiceError | null>((done) => {
      raw.makeUnaryRequest(
        '/inference.GRPCInferenceService/NoSuchMethod',
        (value: Buffer) => value,
        (value: Buffer) => value,
        Buffer.alloc(0),
        new Metadata(),
        (err) => done(err),
      );
    });
    raw.close();
    expect(error?.code).toBe(status.UNIMPLEMENTED);
  });
});

describe('ModelStreamInfer', () => {
  it('answers each request on the stream, a failed one with error_message, and stays open', async () => {
    const stream = client.stream();
    const answers: Record<string, unknown>[] = [];
    const ended = new Promise<void>((done, fail) => {
      stream.on('data', (answer: Record<string, unknown>) => answers.push(answer));
      stream.on('end', () => done());
      stream.on('error', fail);
    });
    stream.write(mlpRequest('mlp-classifier', mlpVector(21), { id: 'a' }));
    stream.write(mlpRequest('no-such-model', mlpVector(22), { id: 'b' }));
    stream.write(mlpRequest('mlp-classifier', mlpVector(23), { id: 'c' }));
    stream.end();
    await ended;
    expect(answers).toHaveLength(3);
    const byId = new Map(answers.map((answer) => [(answer.infer_response as { id: string }).id, answer]));
    const failed = byId.get('b')!;
    expect(failed.error_message).toBe('unknown model "no-such-model"');
    expect((failed.infer_response as { parameters: Record<string, { string_param: string }> }).parameters.error_code!.string_param).toBe(
      'model_not_found',
    );
    for (const [id, seed] of [
      ['a', 21],
      ['c', 23],
    ] as const) {
      const answer = byId.get(id)!;
      expect(answer.error_message ?? '').toBe('');
      expect(
        await reference.matches(seed, floatsOf((answer.infer_response as { raw_output_contents: Buffer[] }).raw_output_contents[0]!)),
      ).toBe(true);
    }
  });

  it('serves many requests on one stream concurrently, each answered once', async () => {
    const stream = client.stream();
    const ids = new Set<string>();
    const ended = new Promise<void>((done, fail) => {
      stream.on('data', (answer: { infer_response: { id: string } }) => ids.add(answer.infer_response.id));
      stream.on('end', () => done());
      stream.on('error', fail);
    });
    for (let i = 0; i < 40; i += 1) stream.write(mlpRequest('mlp-classifier', mlpVector(i), { id: `r${i}` }));
    stream.end();
    await ended;
    expect(ids.size).toBe(40);
  });
});

describe('model and server RPCs', () => {
  it('answers metadata, readiness, configuration, statistics and the repository index', async () => {
    expect((await client.call('ServerMetadata', {})).message).toMatchObject({
      name: 'switchyard',
      extensions: expect.arrayContaining(['model_repository', 'statistics']),
    });
    const metadata = (await client.call('ModelMetadata', { name: 'mlp-classifier' })).message!;
    expect(metadata).toMatchObject({
      name: 'mlp-classifier',
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: ['-1', '512'] }],
    });
    expect((await get(`${server.url}/v2/models/mlp-classifier`)).json).toMatchObject({ name: metadata.name, platform: metadata.platform });
    expect((await client.call('ModelReady', { name: 'mlp-classifier' })).message).toEqual({ ready: true });
    const config = (await client.call<{ config: Record<string, unknown> }>('ModelConfig', { name: 'every-type' })).message!.config;
    expect(config).toMatchObject({ name: 'every-type', max_batch_size: 4, backend: 'onnxruntime' });
    expect((config.input as { name: string; data_type: string }[]).find((input) => input.name === 'in_bytes')).toMatchObject({
      data_type: 'TYPE_STRING',
      dims: ['3'],
    });
    const stats = (
      await client.call<{ model_stats: { name: string; inference_count: string }[] }>('ModelStatistics', { name: 'mlp-classifier' })
    ).message!.model_stats;
    expect(Number(stats[0]!.inference_count)).toBeGreaterThan(0);
    const index = (await client.call<{ models: { name: string; state: string }[] }>('RepositoryIndex', { ready: true })).message!.models;
    expect(index.map((entry) => entry.name)).toEqual(expect.arrayContaining(['mlp-classifier', 'every-type']));
  });

  it('unloads and loads a model; refuses load overrides', async () => {
    expect(
      (await client.call('RepositoryModelUnload', { model_name: 'half', parameters: { unload_dependents: { bool_param: false } } })).error,
    ).toBeUndefined();
    expect((await client.call('ModelReady', { name: 'half' })).message).toEqual({ ready: false });
    const refused = await client.call('RepositoryModelLoad', { model_name: 'half', parameters: { config: { string_param: '{}' } } });
    expect(refused.error?.code).toBe(status.UNIMPLEMENTED);
    expect((await client.call('RepositoryModelLoad', { model_name: 'half' })).error).toBeUndefined();
    expect((await client.call('ModelReady', { name: 'half' })).message).toEqual({ ready: true });
  });

  it('a repository name is one folder, never a path: refused before any file is read, and never listed', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'switchyard-outside-'));
    writeFileSync(join(outside, 'config.json'), '{"not": json');
    const traversal = relative(repository.dir, outside);
    for (const name of [traversal, '../../../etc', 'half/../half', '.hidden', '', 'x'.repeat(101)]) {
      for (const method of ['RepositoryModelLoad', 'RepositoryModelUnload']) {
        const refused = await client.call(method, { model_name: name });
        expect(refused.error?.code, `${method} ${name}`).toBe(status.INVALID_ARGUMENT);
        expect(refused.error?.details).toMatch(/is not a model name: a folder of the repository/);
        expect(refused.headers['x-error-code']).toBe('invalid_parameter');
      }
    }
    const index = await client.call<{ models: { name: string }[] }>('RepositoryIndex', {});
    expect(index.message!.models.map((model) => model.name).filter((name) => name.includes('/') || name.startsWith('.'))).toEqual([]);
    rmSync(outside, { recursive: true, force: true });
  });
});

describe('health and reflection', () => {
  it('serves grpc.health.v1.Health: the server, the inference service and liveness SERVING', async () => {
    const Health = makeGenericClientConstructor(healthService, 'Health');
    const health = new Health(server.grpcAddress!, credentials.createInsecure()) as Client & {
      check(request: object, callback: (error: ServiceError | null, reply: { status: string }) => void): void;
    };
    const check = (service: string) =>
      new Promise<string>((done, fail) => health.check({ service }, (error, reply) => (error ? fail(error) : done(reply.status))));
    // Readiness is refreshed every second: the test before this one unloads and reloads a model.
    await expect.poll(() => check(''), { timeout: 3000 }).toBe('SERVING');
    expect(await check('inference.GRPCInferenceService')).toBe('SERVING');
    expect(await check('live')).toBe('SERVING');
    health.close();
  });

  it('answers server reflection, so grpcurl can list and describe the service', async () => {
    const proto = resolve(import.meta.dirname, '../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const loaded = loadPackageDefinition(loadSync(proto, { keepCase: true })) as unknown as {
      grpc: {
        reflection: {
          v1: {
            ServerReflection: new (
              address: string,
              creds: ReturnType<typeof credentials.createInsecure>,
            ) => Client & { ServerReflectionInfo(): NodeJS.ReadWriteStream };
          };
        };
      };
    };
    const reflection = new loaded.grpc.reflection.v1.ServerReflection(server.grpcAddress!, credentials.createInsecure());
    const ask = (request: object) =>
      new Promise<Record<string, unknown>>((done, fail) => {
        const stream = reflection.ServerReflectionInfo() as unknown as {
          on(event: string, cb: (value: never) => void): void;
          write(value: object): void;
          end(): void;
        };
        stream.on('data', (reply: Record<string, unknown>) => done(reply));
        stream.on('error', fail);
        stream.write(request);
        stream.end();
      });
    const listed = await ask({ list_services: '' });
    const names = (listed.list_services_response as { service: { name: string }[] }).service.map((entry) => entry.name);
    expect(names).toEqual(expect.arrayContaining(['inference.GRPCInferenceService']));
    const described = await ask({ file_containing_symbol: 'inference.ModelInferRequest' });
    expect((described.file_descriptor_response as { file_descriptor_proto: Buffer[] }).file_descriptor_proto.length).toBeGreaterThan(0);
    reflection.close();
  });
});

/** One unary call as raw HTTP/2: what any gRPC client sends, with the framing and headers under the test's control. */
async function rawModelInfer(
  address: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; data: Buffer }> {
  const session = connect(`http://${address}`);
  try {
    return await new Promise((done, fail) => {
      const request = session.request({
        ':method': 'POST',
        ':path': '/inference.GRPCInferenceService/ModelInfer',
        'content-type': 'application/grpc',
        te: 'trailers',
        ...headers,
      });
      let initial: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      request.on('response', (value) => (initial = value));
      request.on('trailers', (value) => (trailers = value));
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('error', fail);
      request.on('close', () => done({ headers: initial, trailers, data: Buffer.concat(chunks) }));
      request.end(body);
    });
  } finally {
    session.close();
  }
}

describe('ModelInfer on the HTTP/2 stream', () => {
  const serialize = loadInferenceService().definition.ModelInfer!.requestSerialize;
  const framed = (message: Buffer, flag = 0): Buffer => {
    const prefix = Buffer.alloc(5);
    prefix[0] = flag;
    prefix.writeUInt32BE(message.length, 1);
    return Buffer.concat([prefix, message]);
  };
  const statusOf = (reply: { headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders }) =>
    Number(reply.trailers['grpc-status'] ?? reply.headers['grpc-status']);

  it('reads a gzip-compressed request and answers with the request id and serving facts in initial metadata', async () => {
    const message = serialize(mlpRequest('mlp-classifier', mlpVector(6)));
    const reply = await rawModelInfer(server.grpcAddress!, framed(gzipSync(message), 1), {
      'grpc-encoding': 'gzip',
      'x-request-id': 'mine-1',
    });
    expect(statusOf(reply)).toBe(status.OK);
    expect(reply.headers['x-request-id']).toMatch(/\S/);
    expect(reply.headers['x-client-request-id']).toBe('mine-1');
    expect(reply.headers['x-model-version']).toBe('1');
    const plain = await client.call<InferResponse>('ModelInfer', mlpRequest('mlp-classifier', mlpVector(6)));
    // The answer's message, past its 5-byte prefix, holds the same tensor bytes the grpc-js client reads.
    expect(reply.data.subarray(5).includes(plain.message!.raw_output_contents[0]!)).toBe(true);
  });

  it('refuses what is not a gRPC call the way grpc-js does, and keeps serving', async () => {
    const message = serialize(mlpRequest('mlp-classifier', mlpVector(1)));
    expect((await rawModelInfer(server.grpcAddress!, framed(message), { 'content-type': 'text/plain' })).headers[':status']).toBe(415);
    expect(statusOf(await rawModelInfer(server.grpcAddress!, framed(message), { 'grpc-timeout': 'soon' }))).toBe(status.INTERNAL);
    expect(statusOf(await rawModelInfer(server.grpcAddress!, framed(Buffer.from([0x0a, 0xff]))))).toBe(status.INTERNAL);
    expect(statusOf(await rawModelInfer(server.grpcAddress!, framed(message, 1), { 'grpc-encoding': 'snappy' }))).toBe(
      status.UNIMPLEMENTED,
    );
    expect(statusOf(await rawModelInfer(server.grpcAddress!, Buffer.alloc(0)))).toBe(status.UNIMPLEMENTED);
    const refused = await rawModelInfer(server.grpcAddress!, framed(serialize(mlpRequest('no-such-model', mlpVector(1)))));
    expect(statusOf(refused)).toBe(status.NOT_FOUND);
    expect(refused.headers['x-error-code']).toBe('model_not_found');
    expect(statusOf(await rawModelInfer(server.grpcAddress!, framed(message)))).toBe(status.OK);
  });
});

describe('cancellation', () => {
  it('a cancelled call or a passed deadline ends CANCELLED/DEADLINE_EXCEEDED for the caller, and the gateway keeps serving', async () => {
    const big = {
      model_name: 'mlp-classifier',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [64, 512] }],
      raw_input_contents: [rawFloats(Array.from({ length: 64 }, (_, i) => mlpVector(i)).flat())],
    };
    const calls = [
      ...Array.from({ length: 10 }, () => client.call('ModelInfer', big, {}, { cancelAfterMs: 1 })),
      ...Array.from({ length: 10 }, () => client.call('ModelInfer', big, {}, { deadline: new Date(Date.now() + 2) })),
    ];
    const replies = await Promise.all(calls);
    for (const reply of replies.slice(0, 10)) expect(reply.error?.code).toBe(status.CANCELLED);
    for (const reply of replies.slice(10)) expect([status.DEADLINE_EXCEEDED, undefined]).toContain(reply.error?.code);
    const after = await client.call<InferResponse>('ModelInfer', mlpRequest('mlp-classifier', mlpVector(4)));
    expect(await reference.matches(4, floatsOf(after.message!.raw_output_contents[0]!))).toBe(true);
    expect((await get(`${server.url}/v2/health/ready`)).status).toBe(200);
  });
});
