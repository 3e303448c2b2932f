import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { connect as connectHttp2 } from 'node:http2';
import { loadInferenceService } from '../../gateway/grpc/load-service.js';
import { framed, rawModelInfer } from '../helpers/raw-grpc.js';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../workers/config.js';
import { parseConfig } from '../../gateway/config.js';
import type { RunningServer } from '../../gateway/server.js';
import { post, startTestGateway } from '../helpers/gateway.js';
import { InferenceClient, mlpRequest } from '../helpers/grpc-client.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { rawRequest } from '../helpers/raw-http.js';
import { freePort } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

const MIB = 1024 * 1024;
const repository = new TestRepository().copy('mlp-classifier');
let server: RunningServer;
let client: InferenceClient;

beforeAll(async () => {
  server = await startTestGateway(repository.dir, {
    GRPC_PORT: String(await freePort()),
    MAX_BODY_BYTES: String(MIB),
    BODY_MEMORY_BYTES: String(MIB),
  });
  client = new InferenceClient(server.grpcAddress!);
}, 60_000);

afterAll(async () => {
  client.close();
  await server.close();
  repository.remove();
});

/** A JSON inference body of about `bytes` (more values than the model takes: a 400 once read, never a 503). */
const largeBody = (bytes: number): Buffer =>
  Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], data: new Array(bytes / 2).fill(1) }] }));

/** An upload that sends `sent` of its `length` bytes and then waits: what a slow (or hostile) sender holds. */
async function slowUpload(url: string, length: number, sent: number): Promise<{ socket: Socket; answer: Promise<string> }> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
  socket.write(
    `POST /v2/models/mlp-classifier/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`,
  );
  // Resolved once the bytes have left this process: the server reads them as they come.
  await new Promise((resolve) => socket.write(Buffer.alloc(sent, 0x20), resolve));
  return { socket, answer };
}

/** Posts `body` until it is not refused 503 (a released hold is given back when the server sees the close), at most 5 s. */
async function untilAdmitted(body: Buffer): Promise<Awaited<ReturnType<typeof post>>> {
  const until = Date.now() + 5_000;
  for (;;) {
    const reply = await post(`${server.url}/v2/models/mlp-classifier/infer`, body);
    if (reply.status !== 503 || Date.now() > until) return reply;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Posts until the gateway answers 503 (the slow upload's bytes have reached it), at most 5 s. */
async function untilBusy(body: Buffer): Promise<Awaited<ReturnType<typeof post>>> {
  const until = Date.now() + 5_000;
  for (;;) {
    const reply = await post(`${server.url}/v2/models/mlp-classifier/infer`, body);
    if (reply.status === 503 || Date.now() > until) return reply;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('BODY_MEMORY_BYTES: the request bytes the gateway holds at once', () => {
  it('a body that finds the memory held by other uploads is 503 server_busy; small bodies pass; the bytes come back when the holder is answered', async () => {
    const holder = await slowUpload(server.url, 900 * 1024, 800 * 1024);
    const refused = await untilBusy(largeBody(300 * 1024));
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ code: 'server_busy' });
    expect(String(refused.json.error)).toContain('BODY_MEMORY_BYTES');
    expect(refused.headers.get('retry-after')).toBe('1');

    // Counted after inflating: 300 KB that travel as a few hundred gzip bytes are refused too.
    const gzipped = await rawRequest(
      server.url,
      'POST /v2/models/mlp-classifier/infer HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nContent-Encoding: gzip\nContent-Length: ' +
        gzipSync(largeBody(300 * 1024)).length,
      gzipSync(largeBody(300 * 1024)),
    );
    expect(gzipped.status).toBe(503);
    expect(gzipped.json).toMatchObject({ code: 'server_busy' });

    // The gRPC front end takes from the same memory.
    const grpc = await client.call('ModelInfer', {
      model_name: 'mlp-classifier',
      inputs: [{ name: 'input', datatype: 'FP32', shape: ['1', String((300 * 1024) / 4)] }],
      raw_input_contents: [Buffer.alloc(300 * 1024)],
    });
    expect(grpc.error?.code).toBe(status.UNAVAILABLE);
    expect(grpc.headers['x-error-code']).toBe('server_busy');
    expect(grpc.headers['retry-after']).toBe('1');

    // A compressed gRPC message counts what it inflates to: 300 KB in a few hundred bytes on the wire.
    const wire = gzipSync(
      serialize({
        model_name: 'mlp-classifier',
        inputs: [{ name: 'input', datatype: 'FP32', shape: ['1', String((300 * 1024) / 4)] }],
        raw_input_contents: [Buffer.alloc(300 * 1024)],
      }),
    );
    expect(wire.length).toBeLessThan(64 * 1024);
    const session = connectHttp2(`http://${server.grpcAddress}`);
    const compressed = await rawModelInfer(session, framed(wire, true), { 'grpc-encoding': 'gzip' });
    session.close();
    expect(compressed['grpc-status']).toBe('14');
    expect(compressed['x-error-code']).toBe('server_busy');

    // A small body is never counted: the model still answers while the memory is full.
    const small = await post(`${server.url}/v2/models/mlp-classifier/infer`, mlpBody(1));
    expect(small.status).toBe(200);
    const smallGrpc = await client.call('ModelInfer', mlpRequest('mlp-classifier', new Array(512).fill(0.5)));
    expect(smallGrpc.error).toBeUndefined();

    // The holder finishes its upload and is answered; its bytes, and the refused bodies', are given back.
    holder.socket.write(Buffer.alloc(100 * 1024, 0x20));
    expect((await holder.answer).split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    for (let round = 0; round < 3; round += 1) {
      const whole = await untilAdmitted(largeBody(900 * 1024));
      expect(whole.status).toBe(400);
      expect(whole.json).toMatchObject({ code: 'shape_data_mismatch' });
    }
  });

  it('a sender that leaves mid-body gives its bytes back', async () => {
    for (let round = 0; round < 3; round += 1) {
      const leaver = await slowUpload(server.url, 900 * 1024, 800 * 1024);
      expect((await untilBusy(largeBody(300 * 1024))).status).toBe(503);
      leaver.socket.destroy();
      await leaver.answer;
    }
    expect((await untilAdmitted(largeBody(900 * 1024))).json).toMatchObject({ code: 'shape_data_mismatch' });
  });

  it('is at least the largest body or message allowed, or the gateway does not start', () => {
    expect(() => parseConfig({ MAX_BODY_BYTES: String(8 * MIB), BODY_MEMORY_BYTES: String(4 * MIB) })).toThrow(ConfigError);
    expect(() =>
      parseConfig({ MAX_BODY_BYTES: String(MIB), GRPC_MAX_MESSAGE_BYTES: String(8 * MIB), BODY_MEMORY_BYTES: String(4 * MIB) }),
    ).toThrow(/BODY_MEMORY_BYTES \(4194304\) is smaller than the largest body or message allowed/);
    const unset = parseConfig({ MAX_BODY_BYTES: String(MIB) });
    expect(unset.BODY_MEMORY_BYTES).toBeGreaterThanOrEqual(MIB);
  });
});

const serialize = loadInferenceService().definition.ModelInfer!.requestSerialize;
