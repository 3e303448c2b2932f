import type { FastifyReply } from 'fastify';

/**
 * Aborted when the connection closes before the answer was sent: the caller left, so what
 * runs for it stops (see gateway/request/infer-call.ts `cancel`).
 */
export function closeSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
