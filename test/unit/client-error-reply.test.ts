import { createServer, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientErrorReply } from '../../gateway/http/error-reply.js';

// What Node's HTTP parser refuses never reaches fastify: the answer is written on the socket.
let server: ReturnType<typeof createServer>;
let next: (socket: Socket) => void = () => undefined;
beforeAll(async () => {
  server = createServer((socket) => next(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function answerFor(code: string): Promise<{ head: string; body: unknown }> {
  next = (socket) => clientErrorReply(Object.assign(new Error(`parser said ${code} about "secret-input"`), { code }), socket);
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise((resolve) => client.on('close', resolve));
  const [head, body] = Buffer.concat(chunks).toString().split('\r\n\r\n');
  return { head: head!, body: JSON.parse(body!) };
}

describe('clientErrorReply', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 431, 'headers_too_large'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'client_timeout'],
    ['HPE_INVALID_CONTENT_LENGTH', 400, 'malformed_request'],
    ['HPE_INVALID_METHOD', 400, 'malformed_request'],
  ])('%s: %i {error, code: %s}, then the connection closes', async (code, status, errorCode) => {
    const { head, body } = await answerFor(code);
    expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(head).toContain('Connection: close');
    expect(body).toEqual({ error: expect.any(String), code: errorCode });
    expect(JSON.stringify(body)).not.toContain('secret-input');
  });
});
