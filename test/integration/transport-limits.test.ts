import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectHttp2, constants, createServer } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInferenceService } from '../../gateway/grpc/load-service.js';
import { receiveDeadline } from '../../gateway/grpc/transport-limits.js';
import type { RunningServer } from '../../gateway/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { mlpRequest } from '../helpers/grpc-client.js';
import { framed, rawModelInfer } from '../helpers/raw-grpc.js';
import { freePort } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

const repository = new TestRepository().copy('mlp-classifier');
let server: RunningServer;

beforeAll(async () => {
  server = await startTestGateway(repository.dir, {
    GRPC_PORT: String(await freePort()),
    GRPC_MAX_CONCURRENT_STREAMS: '4',
    MAX_CONNECTIONS: '6',
  });
}, 60_000);

afterAll(async () => {
  await server.close();
  repository.remove();
});

const serialize = loadInferenceService().definition.ModelInfer!.requestSerialize;

/** Opens sockets until `count` are open; each resolves to whether the server closed it at once (within 300 ms, nothing read). */
async function openSockets(port: number, count: number): Promise<{ sockets: Socket[]; dropped: number }> {
  const sockets: Socket[] = [];
  let dropped = 0;
  for (let index = 0; index < count; index += 1) {
    const socket = connectTcp(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = await new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      socket.once('connect', () => setTimeout(() => resolve(socket.destroyed || socket.readyState !== 'open'), 300));
    });
    if (closed) dropped += 1;
    sockets.push(socket);
  }
  return { sockets, dropped };
}

describe('what one client may hold of a front end', () => {
  it('advertises GRPC_MAX_CONCURRENT_STREAMS, so a client queues its calls past it rather than opening 400,000', async () => {
    const session = connectHttp2(`http://${server.grpcAddress}`);
    await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(4);
    session.close();
  });

  it('a long grpc-timeout (past what a timer holds) is no deadline, not one already passed', async () => {
    const session = connectHttp2(`http://${server.grpcAddress}`);
    const message = framed(serialize(mlpRequest('mlp-classifier', new Array(512).fill(0.25))));
    for (const timeout of ['99999999H', '2147484S'])
      expect((await rawModelInfer(session, message, { 'grpc-timeout': timeout }))['grpc-status']).toBe('0');
    expect((await rawModelInfer(session, message, { 'grpc-timeout': '0m' }))['grpc-status']).toBe('4');
    session.close();
  });

  it('MAX_CONNECTIONS: past it a new socket is closed as it opens, on both ports; one closing lets the next in', async () => {
    for (const port of [Number(new URL(server.url).port), Number(server.grpcAddress!.split(':').pop())]) {
      const { sockets, dropped } = await openSockets(port, 8);
      expect(dropped, `port ${port}`).toBe(2);
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const again = await openSockets(port, 3);
      expect(again.dropped).toBe(0);
      for (const socket of again.sockets) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
});

describe('receiveDeadline: a unary call whose request stalls is cancelled', () => {
  it('cancels a call stalled mid-message; leaves alone one whose request ended and whose answer is slow, and a streaming call', async () => {
    const http2 = createServer();
    const deadline = receiveDeadline(300);
    http2.on('stream', (stream, headers) => {
      deadline(stream, headers);
      stream.on('data', () => undefined);
      // Answers 800 ms after the request ended: slower than the deadline, which no longer applies.
      stream.on('end', () => setTimeout(() => !stream.closed && stream.respond({ ':status': 200 }, { endStream: true }), 800));
    });
    await new Promise<void>((resolve) => http2.listen(0, '127.0.0.1', resolve));
    const { port } = http2.address() as { port: number };
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    const outcome = (path: string, end: boolean) =>
      new Promise<string>((resolve) => {
        const stream = session.request({ ':method': 'POST', ':path': path });
        stream.on('response', (headers) => resolve(`status ${headers[':status']}`));
        stream.on('close', () => resolve(`closed ${stream.rstCode}`));
        stream.on('error', () => undefined);
        if (end) stream.end(Buffer.alloc(10));
        else stream.write(Buffer.alloc(10));
      });
    const [stalled, ended, streaming] = await Promise.all([
      outcome('/inference.GRPCInferenceService/ModelInfer', false),
      outcome('/inference.GRPCInferenceService/ModelInfer', true),
      Promise.race([
        outcome('/inference.GRPCInferenceService/ModelStreamInfer', false),
        new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 1_000)),
      ]),
    ]);
    expect(stalled).toBe(`closed ${constants.NGHTTP2_CANCEL}`);
    expect(ended).toBe('status 200');
    expect(streaming).toBe('still open');
    session.destroy();
    await new Promise((resolve) => http2.close(resolve));
  });
});
