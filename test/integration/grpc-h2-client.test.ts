import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { H2Connection, requestHeaderBlock } from '../../bench/grpc-h2-client.js';
import { loadInferenceService } from '../../gateway/grpc/load-service.js';
import type { RunningServer } from '../../gateway/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { mlpRequest } from '../helpers/grpc-client.js';
import { mlpVector } from '../helpers/mlp-reference.js';
import { freePort } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

/** The bench's raw HTTP/2 client: what it counts as answered must be what the gateway answered. */
const repository = new TestRepository().copy('mlp-classifier', { warmup: { enabled: false } });
const serialize = loadInferenceService().definition.ModelInfer!.requestSerialize;
const framed = (message: Buffer): Buffer => {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
};

let server: RunningServer;
beforeAll(async () => {
  server = await startTestGateway(repository.dir, { GRPC_PORT: String(await freePort()) });
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

describe('bench/grpc-h2-client', () => {
  it('counts answers as ok and refusals as failed, through more requests than the connection window holds', async () => {
    const [host, port] = server.grpcAddress!.split(':') as [string, string];
    const connection = await H2Connection.open(host, Number(port));
    const block = requestHeaderBlock(server.grpcAddress!, '/inference.GRPCInferenceService/ModelInfer', {});
    const good = framed(serialize(mlpRequest('mlp-classifier', mlpVector(2))));
    // 300 calls of 2 KiB at once: 600 KiB, far past the 64 KiB a new connection may send before the server widens its window.
    const ends = await Promise.all(Array.from({ length: 300 }, () => connection.call(block, good)));
    expect(ends.every((end) => end === 'ok')).toBe(true);
    expect(await connection.call(block, framed(serialize(mlpRequest('no-such-model', mlpVector(2)))))).toBe('failed');
    // The server's stream window is at most 4 MiB (gateway/grpc/session-windows.ts).
    await expect(connection.call(block, Buffer.alloc(5 * 1024 * 1024))).rejects.toThrow(/stream window/);
    connection.close();
  });
});
