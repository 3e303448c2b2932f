import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInferenceService } from '../../gateway/grpc/load-service.js';
import type { RunningServer } from '../../gateway/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { floatsOf, InferenceClient, mlpRequest, rawFloats } from '../helpers/grpc-client.js';
import { everyTypeRepository } from '../helpers/every-type-fixture.js';
import { metricValue, scrape } from '../helpers/metrics.js';
import { MlpReference, mlpVector } from '../helpers/mlp-reference.js';
import { freePort } from '../helpers/redis.js';

/**
 * ModelInfer as raw HTTP/2 against the stream-level handler (gateway/grpc/lean-model-infer.ts):
 * malformed and compressed frames, limits, deadlines and resets a real client can send, each
 * answered with a gRPC status (never a crash), the gateway serving on after each.
 */
const MAX_MESSAGE = 64 * 1024;
const repository = everyTypeRepository();
const serialize = loadInferenceService().definition.ModelInfer!.requestSerialize;
const deserialize = loadInferenceService().definition.ModelInfer!.responseDeserialize;

let server: RunningServer;
let client: InferenceClient;
let reference: MlpReference;
let session: ClientHttp2Session;

beforeAll(async () => {
  server = await startTestGateway(repository.dir, { GRPC_PORT: String(await freePort()), GRPC_MAX_MESSAGE_BYTES: String(MAX_MESSAGE) });
  client = new InferenceClient(server.grpcAddress!);
  reference = await MlpReference.load();
  session = connect(`http://${server.grpcAddress!}`);
});
afterAll(async () => {
  session.close();
  client.close();
  await server.close();
  repository.remove();
});

const prefix = (length: number, flag = 0): Buffer => {
  const bytes = Buffer.alloc(5);
  bytes[0] = flag;
  bytes.writeUInt32BE(length, 1);
  return bytes;
};
const framed = (message: Buffer, flag = 0): Buffer => Buffer.concat([prefix(message.length, flag), message]);

interface RawReply {
  readonly headers: IncomingHttpHeaders;
  readonly trailers: IncomingHttpHeaders;
  readonly data: Buffer;
  readonly rstCode: number | undefined;
}

/** One call on the shared connection: `body` written in the given chunks, then the end of the stream unless `keepOpen`. */
function call(chunks: readonly Buffer[], headers: Record<string, string> = {}, keepOpen = false): Promise<RawReply> {
  return new Promise((done, fail) => {
    const request = session.request({
      ':method': 'POST',
      ':path': '/inference.GRPCInferenceService/ModelInfer',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let initial: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const data: Buffer[] = [];
    request.on('response', (value) => (initial = value));
    request.on('trailers', (value) => (trailers = value));
    request.on('data', (chunk: Buffer) => data.push(chunk));
    request.on('error', fail);
    request.on('close', () => done({ headers: initial, trailers, data: Buffer.concat(data), rstCode: request.rstCode }));
    for (const chunk of chunks) request.write(chunk);
    if (!keepOpen) request.end();
  });
}

/** The call's gRPC status: in its trailers, or in its headers when the answer is trailers-only. */
const statusOf = (reply: RawReply): number => Number(reply.trailers['grpc-status'] ?? reply.headers['grpc-status']);
const messageOf = (reply: RawReply): string => decodeURI(String(reply.trailers['grpc-message'] ?? reply.headers['grpc-message'] ?? ''));

const mlpMessage = (seed: number): Buffer => serialize(mlpRequest('mlp-classifier', mlpVector(seed)));

async function servesOn(): Promise<void> {
  const reply = await client.call<{ raw_output_contents: Buffer[] }>('ModelInfer', mlpRequest('mlp-classifier', mlpVector(3)));
  expect(await reference.matches(3, floatsOf(reply.message!.raw_output_contents[0]!))).toBe(true);
}

describe('an answered call', () => {
  it('is initial metadata, one message and trailers holding only grpc-status 0', async () => {
    const reply = await call([framed(mlpMessage(5))]);
    expect(reply.headers[':status']).toBe(200);
    expect(reply.headers['content-type']).toBe('application/grpc+proto');
    expect(reply.headers['x-request-id']).toMatch(/\S/);
    expect(reply.trailers['grpc-status']).toBe('0');
    expect(reply.trailers['grpc-message']).toBeUndefined();
    expect(reply.data[0]).toBe(0);
    expect(reply.data.readUInt32BE(1)).toBe(reply.data.length - 5);
    const answer = deserialize(reply.data.subarray(5)) as { model_name: string; raw_output_contents: Buffer[] };
    expect(answer.model_name).toBe('mlp-classifier');
    expect(await reference.matches(5, floatsOf(answer.raw_output_contents[0]!))).toBe(true);
  });

  it("widens the connection's receive windows past HTTP/2's 64 KiB from its first call", async () => {
    await call([framed(mlpMessage(8))]);
    // Streams: up to the message limit (and its prefix); the connection: room for many calls' tensors at once.
    expect(session.remoteSettings.initialWindowSize).toBe(MAX_MESSAGE + 5);
    expect(session.state.remoteWindowSize).toBeGreaterThan(8 * 1024 * 1024);
    const fresh = connect(`http://${server.grpcAddress!}`);
    await new Promise((resolve) => fresh.once('remoteSettings', resolve));
    expect(fresh.remoteSettings.initialWindowSize).toBe(65_535);
    fresh.close();
  });

  it('is the same whichever way the request is split into DATA frames', async () => {
    const whole = framed(mlpMessage(7));
    const pieces = [whole.subarray(0, 2), whole.subarray(2, 9), whole.subarray(9, 1000), whole.subarray(1000)];
    const reply = await call(pieces);
    expect(statusOf(reply)).toBe(status.OK);
    const answer = deserialize(reply.data.subarray(5)) as { raw_output_contents: Buffer[] };
    expect(await reference.matches(7, floatsOf(answer.raw_output_contents[0]!))).toBe(true);
  });

  it('serves 300 concurrent calls on one connection, each answered once with its own tensors', async () => {
    const replies = await Promise.all(Array.from({ length: 300 }, (_, index) => call([framed(mlpMessage(index % 16))])));
    for (const [index, reply] of replies.entries()) {
      expect(statusOf(reply)).toBe(status.OK);
      const answer = deserialize(reply.data.subarray(5)) as { raw_output_contents: Buffer[] };
      expect(await reference.matches(index % 16, floatsOf(answer.raw_output_contents[0]!))).toBe(true);
    }
  });
});

describe('malformed frames', () => {
  it('refuses a truncated message, a second message, a short prefix and an unparsable message', async () => {
    const message = mlpMessage(1);
    const truncated = await call([prefix(message.length), message.subarray(0, 100)]);
    expect([statusOf(truncated), messageOf(truncated)]).toEqual([status.INTERNAL, 'Received a truncated message']);
    const twice = await call([framed(message), framed(message)]);
    expect([statusOf(twice), messageOf(twice)]).toEqual([status.UNIMPLEMENTED, 'Received a second request message for a unary call']);
    expect(statusOf(await call([Buffer.from([0, 0, 0])]))).toBe(status.UNIMPLEMENTED);
    const garbage = await call([framed(Buffer.from([0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f]))]);
    expect([statusOf(garbage), messageOf(garbage)]).toEqual([status.INTERNAL, 'Error deserializing request']);
    await servesOn();
  });

  it('reads gzip and deflate messages; refuses a compressed flag with no grpc-encoding, and a corrupt one', async () => {
    const message = mlpMessage(2);
    const gzipped = await call([framed(gzipSync(message), 1)], { 'grpc-encoding': 'gzip' });
    expect(statusOf(gzipped)).toBe(status.OK);
    const { deflateSync } = await import('node:zlib');
    expect(statusOf(await call([framed(deflateSync(message), 1)], { 'grpc-encoding': 'deflate' }))).toBe(status.OK);
    const flagOnly = await call([framed(message, 1)]);
    expect([statusOf(flagOnly), messageOf(flagOnly)]).toEqual([
      status.INTERNAL,
      'Received a compressed message, but the call has no grpc-encoding',
    ]);
    const corrupt = await call([framed(Buffer.from('not gzip at all'), 1)], { 'grpc-encoding': 'gzip' });
    expect([statusOf(corrupt), messageOf(corrupt)]).toEqual([status.INTERNAL, 'Failed to decompress message']);
    // An uncompressed message in a call that names gzip is read as it is (the flag decides).
    expect(statusOf(await call([framed(message)], { 'grpc-encoding': 'gzip' }))).toBe(status.OK);
    await servesOn();
  });
});

describe('message size', () => {
  it('refuses a prefix that announces more than the limit as soon as it arrives, and resets the stream', async () => {
    const reply = await call([prefix(MAX_MESSAGE + 1)], {}, true);
    expect(reply.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
    expect([statusOf(reply), messageOf(reply)]).toEqual([
      status.RESOURCE_EXHAUSTED,
      `Received message larger than max (${MAX_MESSAGE + 1} vs. ${MAX_MESSAGE})`,
    ]);
  });

  it('stops reading a flood past the limit, and refuses a gzip message that inflates past it', async () => {
    const flood = await call(Array.from({ length: 8 }, () => Buffer.alloc(16 * 1024, 1)));
    expect(statusOf(flood)).toBe(status.RESOURCE_EXHAUSTED);
    const bomb = await call([framed(gzipSync(Buffer.alloc(MAX_MESSAGE * 4)), 1)], { 'grpc-encoding': 'gzip' });
    expect([statusOf(bomb), messageOf(bomb)]).toEqual([
      status.RESOURCE_EXHAUSTED,
      `Received message that decompresses to a size larger than ${MAX_MESSAGE}`,
    ]);
    await servesOn();
  });
});

describe('deadlines and resets', () => {
  const big = (): Buffer =>
    framed(
      serialize({
        model_name: 'mlp-classifier',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [24, 512] }],
        raw_input_contents: [rawFloats(Array.from({ length: 24 }, (_, i) => mlpVector(i)).flat())],
      }),
    );
  const modelInferCount = async (code: string): Promise<number> =>
    metricValue(await scrape(`${server.url}/metrics`), 'switchyard_http_request_duration_seconds_count', {
      route: '/inference.GRPCInferenceService/ModelInfer',
      method: 'GRPC',
      status: code,
    });

  it('a grpc-timeout that passes before the answer ends the call DEADLINE_EXCEEDED', async () => {
    const reply = await call([big()], { 'grpc-timeout': '1n' });
    expect([statusOf(reply), messageOf(reply)]).toEqual([status.DEADLINE_EXCEEDED, 'Deadline exceeded']);
    // A deadline the answer beats changes nothing.
    expect(statusOf(await call([big()], { 'grpc-timeout': '30S' }))).toBe(status.OK);
    await servesOn();
  });

  it('a stream reset while its request is still arriving is dropped quietly', async () => {
    const message = mlpMessage(4);
    const request = session.request({
      ':method': 'POST',
      ':path': '/inference.GRPCInferenceService/ModelInfer',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    request.on('error', () => undefined);
    request.write(prefix(message.length));
    request.write(message.subarray(0, 50));
    const closed = new Promise<number>((done) => request.on('close', () => done(request.rstCode)));
    request.close(constants.NGHTTP2_CANCEL);
    expect(await closed).toBe(constants.NGHTTP2_CANCEL);
    await servesOn();
  });

  it('a stream reset after its request arrived cancels the call (recorded as client_cancelled) and the connection serves on', async () => {
    const before = { ok: await modelInferCount('200'), cancelled: await modelInferCount('499') };
    const calls = 40;
    await Promise.all(
      Array.from(
        { length: calls },
        () =>
          new Promise<void>((done) => {
            const request = session.request({
              ':method': 'POST',
              ':path': '/inference.GRPCInferenceService/ModelInfer',
              'content-type': 'application/grpc',
              te: 'trailers',
            });
            request.on('error', () => undefined);
            request.on('close', () => done());
            request.end(big(), () => request.close(constants.NGHTTP2_CANCEL));
          }),
      ),
    );
    // Resets on a busy gateway cancel some calls; every call whose request arrived whole ends once, answered or cancelled.
    await expect.poll(() => modelInferCount('499')).toBeGreaterThan(before.cancelled);
    const ended = (await modelInferCount('200')) - before.ok + (await modelInferCount('499')) - before.cancelled;
    expect(ended).toBeLessThanOrEqual(calls);
    expect(statusOf(await call([framed(mlpMessage(6))]))).toBe(status.OK);
    await servesOn();
  });
});
