import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ERROR_TABLE, ServingError, type ErrorCode } from '../../workers/protocol/errors.js';

const jsonError = (code: ErrorCode, message: string): string => JSON.stringify({ error: message, code });

/**
 * What Node's HTTP server refuses on its own, before any request reaches fastify, answered in
 * the same JSON shape as every other error: an `Expect` other than 100-continue (Node sends an
 * empty 417), a CONNECT (Node drops the socket without a word), and an HTTP/1.1 request without
 * `Host` (Node sends an empty 400; `missingHost` answers it in the request path).
 */
export function installNodeRefusals(app: FastifyInstance): void {
  const server = app.server as Server;
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const body = jsonError(
      'expectation_failed',
      `Expect: ${String(request.headers.expect).slice(0, 60)} is not supported: only 100-continue`,
    );
    response.writeHead(417, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
    response.end(body);
  });
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    const body = jsonError('route_not_found', 'no endpoint CONNECT: this is not a proxy');
    const status = ERROR_TABLE.route_not_found.status;
    const head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
    socket.on('error', () => undefined);
    socket.end(head + body);
  });
  // Node reads this property per request (it is the `requireHostHeader` server option); @types/node leaves it out.
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
}

/** An HTTP/1.1 request without `Host` (RFC 9112 requires one): checked first by authentication's hook, one hook fewer a request. */
export function missingHost(request: FastifyRequest): ServingError | undefined {
  const raw = request.raw;
  if (raw.httpVersionMajor === 1 && raw.httpVersionMinor === 1 && request.headers.host === undefined)
    return new ServingError('malformed_request', 'an HTTP/1.1 request must carry a Host header');
  return undefined;
}
