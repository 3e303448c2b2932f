import { ServingError } from '../../workers/protocol/errors.js';

/**
 * Triton's system and CUDA shared-memory extensions, over HTTP and gRPC. Switchyard's clients
 * reach it over the network and its models may run in other processes or on other hosts, so no
 * region can be registered: the status lists are empty, unregistering is a no-op, registering
 * is refused.
 */
export type SharedMemoryKind = 'system' | 'cuda';

export const refuseRegistration = (kind: SharedMemoryKind): never => {
  throw new ServingError(
    'not_supported',
    `${kind} shared memory is not supported: send tensors in the request body (JSON or the binary extension)`,
  );
};

export const regionNotFound = (kind: SharedMemoryKind): ServingError =>
  new ServingError('region_not_found', `no ${kind} shared-memory region of that name is registered (Switchyard registers none)`);
