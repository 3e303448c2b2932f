import { connect, createServer, type Http2Server, type IncomingHttpHeaders } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endWithStatus, sendsInOneWrite } from '../../gateway/grpc/trailers-now.js';

let server: Http2Server;
let port = 0;
let oneWrite: boolean[] = [];
let closed = 0;

beforeAll(async () => {
  server = createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    stream.on('close', () => (closed += 1));
    stream.resume();
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
      oneWrite.push(sendsInOneWrite(stream));
      const size = Number(headers['x-size']);
      const message = Buffer.alloc(5 + size, 7);
      message[0] = 0;
      message.writeUInt32BE(size, 1);
      // Parts as a replayed answer is written (prefix, then the message), or one buffer.
      endWithStatus(
        stream,
        headers['x-parts'] === 'yes' ? [message.subarray(0, 5), message.subarray(5)] : message,
        Number(headers['x-code']),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function call(
  session: ReturnType<typeof connect>,
  headers: Record<string, string>,
): Promise<{ data: Buffer; trailers: IncomingHttpHeaders; trailersAfterData: boolean }> {
  return new Promise((done, fail) => {
    const request = session.request({ ':method': 'POST', ':path': '/x', 'content-type': 'application/grpc', ...headers });
    const chunks: Buffer[] = [];
    let trailers: IncomingHttpHeaders = {};
    let trailersAfterData = false;
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('trailers', (value) => {
      trailers = value;
      trailersAfterData = chunks.length > 0;
    });
    request.on('error', fail);
    request.on('close', () => done({ data: Buffer.concat(chunks), trailers, trailersAfterData }));
    request.end(Buffer.alloc(10));
  });
}

describe('endWithStatus', () => {
  it('sends the message, then trailers holding only grpc-status, and every stream closes', async () => {
    oneWrite = [];
    closed = 0;
    const session = connect(`http://127.0.0.1:${port}`);
    const sizes = [0, 1, 100, 20_000, 200_000];
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        call(session, { 'x-size': String(sizes[index % sizes.length]), 'x-code': String(index % 3), 'x-parts': index % 2 ? 'yes' : 'no' }),
      ),
    );
    session.close();
    for (const [index, reply] of replies.entries()) {
      expect(reply.data.length).toBe(5 + sizes[index % sizes.length]!);
      expect(reply.data.readUInt32BE(1)).toBe(sizes[index % sizes.length]);
      expect(reply.trailersAfterData).toBe(true);
      expect(reply.trailers['grpc-status']).toBe(String(index % 3));
      expect(reply.trailers['grpc-message']).toBeUndefined();
    }
    await expect.poll(() => closed).toBe(200);
  });

  it("takes the one-write path on this Node (its internals are the known ones: a Node upgrade that changes them fails here, and falls back to Node's API)", () => {
    expect(oneWrite.length).toBeGreaterThan(0);
    expect(oneWrite.every(Boolean)).toBe(Number(process.versions.node.split('.')[0]) === 20);
  });
});
