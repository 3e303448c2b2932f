import type { FastifyInstance } from 'fastify';
import type { ServingBackend } from '../serving-backend.js';

export interface Lifecycle {
  /** False until start-up loading ends, and again once draining begins. */
  accepting(): boolean;
}

/** Liveness is the process answering; readiness is every loaded model version warm. */
export function healthRoutes(app: FastifyInstance, backend: ServingBackend, lifecycle: Lifecycle): void {
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_request, reply) => {
    const ready = lifecycle.accepting() && backend.isReady();
    return reply.code(ready ? 200 : 503).send({ ready });
  });
}
