import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';

/**
 * Triton's system and CUDA shared-memory extensions. Switchyard's clients reach it over the
 * network and its models may run in other processes or on other hosts, so no region can be
 * registered: the status lists are empty, unregistering is a no-op, registering is refused.
 */
export function sharedMemoryRoutes(app: FastifyInstance): void {
  for (const kind of ['system', 'cuda'] as const) {
    const base = `/v2/${kind}sharedmemory`;
    app.get(`${base}/status`, async () => []);
    app.get<{ Params: { name: string } }>(`${base}/region/:name/status`, async () => {
      throw new ServingError('region_not_found', `no ${kind} shared-memory region of that name is registered (Switchyard registers none)`);
    });
    app.post<{ Params: { name: string } }>(`${base}/region/:name/register`, async () => {
      throw new ServingError('not_supported', `${kind} shared memory is not supported: send tensors in the request body (JSON or the binary extension)`);
    });
    app.post(`${base}/unregister`, async () => ({}));
    app.post<{ Params: { name: string } }>(`${base}/region/:name/unregister`, async () => ({}));
  }
}
