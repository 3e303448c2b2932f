import type { FastifyInstance } from 'fastify';
import type { ServingBackend } from '../serving-backend.js';
import { docs, json } from '../openapi/route-docs.js';

const flag = (name: string) => ({ type: 'object', required: [name], properties: { [name]: { type: 'boolean' } } });

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
  app.get(
    '/v2/health/live',
    {
      config: docs({
        tag: 'health',
        summary: 'Liveness: the process answers',
        responses: { 200: { description: 'Live.', content: json(flag('live')) } },
      }),
    },
    async () => ({ live: true }),
  );
  const readiness = docs({
    tag: 'health',
    summary: 'Readiness: taking work',
    description:
      'Embedded mode: every loaded model version warm. Distributed mode: Redis reachable (requests queue while a pool scales up from zero).',
    responses: {
      200: { description: 'Ready.', content: json(flag('ready')) },
      503: { description: 'Not ready (starting, draining, or not warm).', content: json(flag('ready')) },
    },
  });
  app.get('/v2/health/ready', { config: readiness }, async (_request, reply) => {
    const ready = lifecycle.phase() === 'serving' && backend.isReady();
    return reply.code(ready ? 200 : 503).send({ ready });
  });
}
