import type { FastifyInstance } from 'fastify';
import { refuseRegistration, regionNotFound } from '../request/shared-memory.js';
import { docs, json, EMPTY_OBJECT, type JsonSchema, type RouteDocs } from '../openapi/route-docs.js';

/** Triton's system and CUDA shared-memory extensions: none registered, none registrable (gateway/request/shared-memory.ts). */
export function sharedMemoryRoutes(app: FastifyInstance): void {
  for (const kind of ['system', 'cuda'] as const) {
    const base = `/v2/${kind}sharedmemory`;
    const doc = (summary: string, errors: RouteDocs['errors'], content?: JsonSchema) =>
      docs({
        tag: 'triton',
        summary: `${kind === 'cuda' ? 'CUDA' : 'System'} shared memory: ${summary}`,
        errors,
        responses: { 200: { description: 'Always this.', ...(content ? { content: json(content) } : {}) } },
      });
    app.get(`${base}/status`, { config: doc('regions (none)', [], { type: 'array', maxItems: 0 }) }, async () => []);
    app.get<{ Params: { name: string } }>(
      `${base}/region/:name/status`,
      { config: doc("a region's status (none exists)", ['region_not_found']) },
      async () => {
        throw regionNotFound(kind);
      },
    );
    app.post<{ Params: { name: string } }>(
      `${base}/region/:name/register`,
      { config: doc('register a region (refused)', ['not_supported']) },
      async () => refuseRegistration(kind),
    );
    app.post(`${base}/unregister`, { config: doc('unregister every region (nothing to do)', [], EMPTY_OBJECT) }, async () => ({}));
    app.post<{ Params: { name: string } }>(
      `${base}/region/:name/unregister`,
      { config: doc('unregister a region (nothing to do)', [], EMPTY_OBJECT) },
      async () => ({}),
    );
  }
}
