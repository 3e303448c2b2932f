import { getEventListeners } from 'node:events';
import type { Socket } from 'node:net';
import type { FastifyReply } from 'fastify';

/** The cancel signal an HTTP/1.1 connection's requests share, and how many of them are unanswered. */
interface ConnectionCancel {
  controller: AbortController;
  open: number;
}

const CONNECTION_CANCEL = Symbol('switchyard.connectionCancel');
type CancelSocket = Socket & { [CONNECTION_CANCEL]?: ConnectionCancel };

/**
 * Aborted when the connection closes before the answer was sent: the caller left, so what
 * runs for it stops (see gateway/request/infer-call.ts `cancel`).
 *
 * Node 20 spends 5-10 us building each AbortSignal, so the requests of one HTTP/1.1
 * connection share one: they are answered in turn, and the connection closing is the only
 * way one of them is cut off. A signal that still has listeners when the connection has no
 * unanswered request left is retired (the next request gets a new one), so a listener that
 * was not removed never fires for a later request, nor collects on a keep-alive connection.
 */
export function closeSignal(reply: FastifyReply): AbortSignal {
  const response = reply.raw;
  const socket = response.socket as CancelSocket | null;
  if (socket === null || socket.destroyed || reply.request.raw.httpVersionMajor !== 1) return requestSignal(reply);
  let shared = socket[CONNECTION_CANCEL];
  if (shared === undefined) {
    const created: ConnectionCancel = { controller: new AbortController(), open: 0 };
    socket[CONNECTION_CANCEL] = shared = created;
    socket.once('close', () => {
      if (created.open > 0) created.controller.abort();
    });
  }
  const cancel = shared;
  cancel.open += 1;
  const signal = cancel.controller.signal;
  response.once('finish', () => {
    cancel.open -= 1;
    if (cancel.open === 0 && cancel.controller.signal === signal && getEventListeners(signal, 'abort').length > 0)
      cancel.controller = new AbortController();
  });
  return signal;
}

/** One signal for one request: for a connection that is already gone, and HTTP/2. */
function requestSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
