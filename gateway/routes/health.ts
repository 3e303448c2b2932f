import type { FastifyInstance } from 'fastify';
import type { ServingBackend } from '../serving-backend.js';

export type LifecyclePhase = 'starting' | 'serving' | 'draining';

export interface Lifecycle {
  /** 'starting' until start-up loading ends; 'draining' once shutdown begins. */
  phase(): LifecyclePhase;
}

/**
 * Liveness is the process answering. Readiness is taking work: embedded, every loaded model
 * version warm; distributed, Redis reachable (requests queue while a pool scales up from zero).
 */
export function healthRoutes(app: FastifyInstance, backend: ServingBackend, lifecycle: Lifecycle): void {
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_request, reply) => {
    const ready = lifecycle.phase() === 'serving' && backend.isReady();
    return reply.code(ready ? 200 : 503).send({ ready });
  });
}
