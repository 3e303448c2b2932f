import { getEventListeners } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply } from 'fastify';

/** The cancel signal an HTTP/1.1 connection's requests share, and the latest of them. */
interface ConnectionCancel {
  controller: AbortController;
  response: ServerResponse;
}

const CONNECTION_CANCEL = Symbol('switchyard.connectionCancel');
type CancelSocket = Socket & { [CONNECTION_CANCEL]?: ConnectionCancel };

/**
 * Aborted when the connection closes before the answer was sent: the caller left, so what
 * runs for it stops (see gateway/request/infer-call.ts `cancel`).
 *
 * Node 20 spends 5-10 us building each AbortSignal, so the requests of one HTTP/1.1
 * connection share one: they are answered in order, so the latest is unanswered whenever one
 * is, and the connection closing is the only way one of them is cut off. A signal that still
 * has listeners when the next request finds every earlier one answered is retired (that
 * request gets a new one), so a listener that was not removed never fires for a later
 * request, nor collects on a keep-alive connection.
 */
export function closeSignal(reply: FastifyReply): AbortSignal {
  const response = reply.raw;
  const socket = response.socket as CancelSocket | null;
  if (socket === null || socket.destroyed || reply.request.raw.httpVersionMajor !== 1) return requestSignal(reply);
  const shared = socket[CONNECTION_CANCEL];
  if (shared === undefined) {
    const created: ConnectionCancel = { controller: new AbortController(), response };
    socket[CONNECTION_CANCEL] = created;
    socket.once('close', () => {
      if (!created.response.writableFinished) created.controller.abort();
    });
    return created.controller.signal;
  }
  if (shared.response.writableFinished && getEventListeners(shared.controller.signal, 'abort').length > 0)
    shared.controller = new AbortController();
  shared.response = response;
  return shared.controller.signal;
}

/** One signal for one request: for a connection that is already gone, and HTTP/2. */
function requestSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
