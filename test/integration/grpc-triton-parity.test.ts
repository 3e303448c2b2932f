import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel, valueInfo } from '../../models/onnx/onnx-model.js';
import type { RunningServer } from '../../gateway/server.js';
import { startTestGateway, post } from '../helpers/gateway.js';
import { floatsOf, InferenceClient, rawFloats } from '../helpers/grpc-client.js';
import { ONNX_ELEM_TYPES } from '../helpers/identity-model.js';
import { freePort } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

/**
 * What gRPC must answer as HTTP does, or as Triton does: an answer over GRPC_MAX_MESSAGE_BYTES
 * is its own request's error (a stream goes on), shared-memory inputs, log and trace settings,
 * shared-memory status, priorities past Triton's levels. Driven by grpc-js and, where
 * TRITONCLIENT_PY names the folder holding tritonclient, by NVIDIA's client
 * (test/interop/tritonclient_grpc_parity.py).
 */
const LIMIT = 8192;

/** `widen`: FP32 x [batch, n] to out [batch, 4n] (x four times): its answers outgrow its requests. */
function widenRepository(): TestRepository {
  const model = encodeModel({
    irVersion: 8,
    producerName: 'switchyard-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'widen',
      node: [
        { opType: 'Concat', name: 'widen', input: ['x', 'x', 'x', 'x'], output: ['out'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
      ],
      input: [valueInfo('x', ONNX_ELEM_TYPES.FP32, ['batch', 'n'])],
      output: [valueInfo('out', ONNX_ELEM_TYPES.FP32, ['batch', 'n4'])],
    },
  });
  return new TestRepository().add(
    'widen',
    {
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 4,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
      outputs: [{ name: 'out', datatype: 'FP32', shape: [-1] }],
      warmup: { enabled: false },
      price: { usd_per_compute_second: 0 },
    },
    { '1/model.onnx': model },
  );
}

/** Width 1024: a 4 KiB request, a 16 KiB answer (over LIMIT); width 64 and less: answers well under it. */
const widenRequest = (width: number, id: string, extra: Record<string, unknown> = {}) => ({
  model_name: 'widen',
  id,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, width] }],
  raw_input_contents: [rawFloats(Array.from({ length: width }, (_, index) => index))],
  ...extra,
});
const TOO_LARGE = /^the answer is \d+ bytes, larger than the gRPC message limit of 8192 bytes \(GRPC_MAX_MESSAGE_BYTES\)/;

type StreamAnswer = {
  error_message?: string;
  infer_response: { id: string; parameters: Record<string, { string_param?: string }>; raw_output_contents?: Buffer[] };
};

const repository = widenRepository();
let server: RunningServer;
let client: InferenceClient;
beforeAll(async () => {
  server = await startTestGateway(repository.dir, { GRPC_PORT: String(await freePort()), GRPC_MAX_MESSAGE_BYTES: String(LIMIT) });
  client = new InferenceClient(server.grpcAddress!);
}, 60_000);
afterAll(async () => {
  client?.close();
  await server.close();
  repository.remove();
});

describe('an answer larger than GRPC_MAX_MESSAGE_BYTES', () => {
  it("on a stream is that request's own error, its id kept, and the other requests are answered", async () => {
    const stream = client.stream();
    const answers: StreamAnswer[] = [];
    const ended = new Promise<void>((done, fail) => {
      stream.on('data', (answer: StreamAnswer) => answers.push(answer));
      stream.on('end', () => done());
      stream.on('error', fail);
    });
    for (const [id, width] of [
      ['s-1', 16],
      ['b-1', 1024],
      ['s-2', 32],
      ['b-2', 1024],
      ['s-3', 64],
    ] as const)
      stream.write(widenRequest(width, id));
    stream.end();
    await ended;
    const byId = new Map(answers.map((answer) => [answer.infer_response.id, answer]));
    expect([...byId.keys()].sort()).toEqual(['b-1', 'b-2', 's-1', 's-2', 's-3']);
    for (const id of ['b-1', 'b-2']) {
      const failed = byId.get(id)!;
      expect(failed.error_message, id).toMatch(TOO_LARGE);
      expect(failed.infer_response.parameters.error_code?.string_param).toBe('body_too_large');
    }
    for (const [id, width] of [
      ['s-1', 16],
      ['s-2', 32],
      ['s-3', 64],
    ] as const) {
      const served = byId.get(id)!;
      expect(served.error_message ?? '', id).toBe('');
      const row = Array.from({ length: width }, (_, index) => index);
      expect(floatsOf(served.infer_response.raw_output_contents![0]!)).toEqual([...row, ...row, ...row, ...row]);
    }
  });

  it('on ModelInfer is RESOURCE_EXHAUSTED naming its size and the limit; a smaller answer on the same model is sent', async () => {
    const big = await client.call('ModelInfer', widenRequest(1024, 'big'));
    expect(big.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(big.error?.details).toMatch(TOO_LARGE);
    expect(big.headers['x-error-code']).toBe('body_too_large');
    const small = await client.call<{ raw_output_contents: Buffer[] }>('ModelInfer', widenRequest(64, 'small'));
    expect(small.error).toBeUndefined();
    expect(floatsOf(small.message!.raw_output_contents[0]!)).toHaveLength(256);
  });
});

describe('requests HTTP and gRPC answer alike', () => {
  it('a shared-memory input is UNIMPLEMENTED with the text of HTTP 501, before its contents are counted', async () => {
    const parameters = {
      shared_memory_region: { string_param: 'region0' },
      shared_memory_byte_size: { int64_param: '64' },
    };
    const request = {
      model_name: 'widen',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16], parameters }],
    };
    const grpc = await client.call('ModelInfer', request);
    const http = await post(`${server.url}/v2/models/widen/infer`, {
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, 16], parameters: { shared_memory_region: 'region0', shared_memory_byte_size: 64 } },
      ],
    });
    expect(http.status).toBe(501);
    expect(grpc.error?.code).toBe(status.UNIMPLEMENTED);
    expect(grpc.error?.details).toBe(http.json.error);
    expect(grpc.headers['x-error-code']).toBe('not_supported');
  });

  it('priority: any non-negative integer, past 2097152 the default; negative, fractional and text refused', async () => {
    const priorityOf = async (priority: unknown) => {
      const reply = await post(`${server.url}/v2/models/widen/infer`, {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }],
        parameters: { priority },
      });
      return reply.status === 200 ? reply.headers.get('x-priority') : reply.status;
    };
    // The open gateway's default is 0: a priority past the lowest level runs at it, as Triton's does.
    expect(await priorityOf(7)).toBe('7');
    expect(await priorityOf(2097152)).toBe('2097152');
    expect(await priorityOf(2097153)).toBe('0');
    expect(await priorityOf(2 ** 64)).toBe('0');
    for (const wrong of [-1, 1.5, '5']) expect(await priorityOf(wrong), String(wrong)).toBe(400);

    const grpcPriority = async (parameter: Record<string, string>) => {
      const reply = await client.call<{ parameters: Record<string, { int64_param?: string }> }>(
        'ModelInfer',
        widenRequest(2, 'p', { parameters: { priority: parameter } }),
      );
      return reply.error ? reply.error.code : reply.message!.parameters.priority?.int64_param;
    };
    expect(await grpcPriority({ uint64_param: '18446744073709551615' })).toBe('0');
    expect(await grpcPriority({ uint64_param: '2097153' })).toBe('0');
    expect(await grpcPriority({ int64_param: '9' })).toBe('9');
    expect(await grpcPriority({ int64_param: '-1' })).toBe(status.INVALID_ARGUMENT);
    expect(await grpcPriority({ double_param: 2.5 } as unknown as Record<string, string>)).toBe(status.INVALID_ARGUMENT);
  });
});

const TRITONCLIENT = process.env.TRITONCLIENT_PY;
const available = TRITONCLIENT !== undefined && existsSync(join(TRITONCLIENT, 'tritonclient', 'grpc'));
if (!available)
  console.warn(
    `grpc-triton-parity: tritonclient part SKIPPED, set TRITONCLIENT_PY to the folder holding tritonclient (got ${TRITONCLIENT ?? 'nothing'})`,
  );

type Outcome = { call: string; ok: true; value: never } | { call: string; ok: false; status: string; message: string };

describe.skipIf(!available)('tritonclient.grpc', () => {
  let outcomes: Map<string, Outcome>;
  beforeAll(async () => {
    const script = resolve(import.meta.dirname, '../interop/tritonclient_grpc_parity.py');
    const { stdout } = await promisify(execFile)(
      process.env.TRITONCLIENT_PYTHON ?? '/usr/bin/python3',
      [script, server.grpcAddress!, new URL(server.url).host],
      { env: { PATH: process.env.PATH ?? '', PYTHONPATH: TRITONCLIENT! }, timeout: 120_000 },
    );
    const lines = stdout.trim().split('\n');
    outcomes = new Map(lines.map((line) => JSON.parse(line) as Outcome).map((outcome) => [outcome.call, outcome]));
  }, 150_000);

  const value = <T>(call: string): T => {
    const outcome = outcomes.get(call);
    expect(outcome, call).toMatchObject({ ok: true });
    return (outcome as { value: T }).value;
  };
  const failure = (call: string) => {
    const outcome = outcomes.get(call);
    expect(outcome?.ok, `${call} should fail`).toBe(false);
    return outcome as { status: string; message: string };
  };

  it('a stream goes on past answers too large to send: each is an error, the rest and a later request answered', () => {
    const { before, after } = value<{ before: [string, unknown][]; after: [string, unknown] }>('stream_big_answers');
    expect(before.filter(([kind]) => kind === 'error').map(([, message]) => message)).toEqual([
      expect.stringMatching(/the answer is \d+ bytes, larger than the gRPC message limit of 8192 bytes/),
      expect.stringMatching(/the answer is \d+ bytes, larger than the gRPC message limit of 8192 bytes/),
    ]);
    const served = before.filter(([kind]) => kind === 'answer').map(([, answer]) => answer as { id: string; width: number });
    expect(served.map(({ id, width }) => [id, width]).sort()).toEqual([
      ['s-1', 64],
      ['s-2', 128],
      ['s-3', 256],
    ]);
    expect(after).toEqual(['answer', expect.objectContaining({ id: 'after', width: 32 })]);
    expect(failure('infer_big_answer')).toMatchObject({
      status: 'StatusCode.RESOURCE_EXHAUSTED',
      message: expect.stringMatching(TOO_LARGE),
    });
  });

  it('a shared-memory input is refused as over HTTP', () => {
    const grpc = failure('infer_shm_input');
    expect(grpc.status).toBe('StatusCode.UNIMPLEMENTED');
    expect(grpc.message).toMatch(/^input "x": shared memory is not supported/);
    expect(failure('http_infer_shm_input').message).toBe(grpc.message);
  });

  it('log settings read and change the level HTTP reports; log_file and an empty value are refused', () => {
    expect(value('get_log_settings')).toEqual({
      settings: {
        log_file: { string_param: '' },
        log_info: { bool_param: false },
        log_warning: { bool_param: false },
        log_error: { bool_param: false },
        log_verbose_level: { uint32_param: 0 },
        log_format: { string_param: 'default' },
      },
    });
    expect(value<{ settings: object }>('update_log_settings').settings).toMatchObject({
      log_error: { bool_param: true },
      log_warning: { bool_param: false },
      log_verbose_level: { uint32_param: 0 },
    });
    expect(value('http_get_log_settings')).toMatchObject({ log_verbose_level: 0, log_info: false, log_warning: false, log_error: true });
    expect(failure('update_log_file')).toMatchObject({
      status: 'StatusCode.UNIMPLEMENTED',
      message: expect.stringMatching(/^log_file cannot be changed/),
    });
    expect(failure('update_log_info_empty')).toMatchObject({
      status: 'StatusCode.INVALID_ARGUMENT',
      message: 'log_info must be true or false',
    });
    expect(value('restore_log_settings')).toEqual(value('get_log_settings'));
  });

  it('trace settings read as HTTP reports them; a change is refused', () => {
    const http = value<Record<string, string | string[]>>('http_get_trace_settings');
    const asGrpc = { settings: Object.fromEntries(Object.entries(http).map(([key, v]) => [key, { value: Array.isArray(v) ? v : [v] }])) };
    expect(http.trace_level).toEqual(['OFF']);
    expect(value('get_trace_settings')).toEqual(asGrpc);
    expect(value('get_model_trace_settings')).toEqual(asGrpc);
    expect(failure('update_trace_settings')).toMatchObject({
      status: 'StatusCode.UNIMPLEMENTED',
      message: expect.stringMatching(/^trace settings cannot be changed/),
    });
  });

  it('shared-memory status lists no region, unregistering is a no-op, registering is refused', () => {
    expect(value('get_system_shared_memory_status')).toEqual({});
    expect(value('get_cuda_shared_memory_status')).toEqual({});
    expect(failure('get_system_shared_memory_region').status).toBe('StatusCode.NOT_FOUND');
    expect(value('unregister_system_shared_memory')).toBe(true);
    expect(value('unregister_cuda_shared_memory')).toBe(true);
    for (const call of ['register_system_shared_memory', 'register_cuda_shared_memory'])
      expect(failure(call)).toMatchObject({
        status: 'StatusCode.UNIMPLEMENTED',
        message: expect.stringMatching(/shared memory is not supported/),
      });
  });

  it("priorities past Triton's levels (tritonclient's uint64) run at the default, as Triton runs them", () => {
    expect(value<{ priority: unknown }>('infer_priority_5').priority).toEqual({ int64_param: '5' });
    expect(value<{ priority: unknown }>('infer_priority_2097152').priority).toEqual({ int64_param: '2097152' });
    expect(value<{ priority: unknown }>('infer_priority_2097153').priority).toEqual({ int64_param: '0' });
    expect(value<{ priority: unknown }>(`infer_priority_${2n ** 64n - 1n}`).priority).toEqual({ int64_param: '0' });
    expect(value('http_infer_priority_2097153')).toBe(0);
    expect(value(`http_infer_priority_${2n ** 63n}`)).toBe(0);
  });
});
