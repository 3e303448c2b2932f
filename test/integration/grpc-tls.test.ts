import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { TestCertificates } from '../helpers/certificates.js';
import { startTestGateway } from '../helpers/gateway.js';
import { InferenceClient, mlpRequest } from '../helpers/grpc-client.js';
import { mlpVector } from '../helpers/mlp-reference.js';
import { freePort } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

/** The gRPC port follows the HTTP listener's TLS settings: the same files, TLS or mTLS alike. */
const certificates = new TestCertificates();
const repository = new TestRepository().copy('mlp-classifier', { warmup: { enabled: false } });
const server = certificates.server(1);
const client = certificates.client(2);
const file = (name: string, content: Buffer): string => {
  const path = join(certificates.dir, name);
  writeFileSync(path, content);
  return path;
};
const tlsEnv = { TLS_CERT_FILE: file('grpc-server.crt', server.cert), TLS_KEY_FILE: file('grpc-server.key', server.key) };

const live = async (address: string, creds: ReturnType<typeof credentials.createInsecure>) => {
  const grpc = new InferenceClient(address, creds);
  const reply = await grpc.call('ServerLive', {}, {}, { deadline: new Date(Date.now() + 5_000) });
  grpc.close();
  return reply;
};

/** ModelInfer, served past grpc-js's call machinery but on its TLS server: the same credentials apply. */
const infer = async (address: string, creds: ReturnType<typeof credentials.createInsecure>) => {
  const grpc = new InferenceClient(address, creds);
  const reply = await grpc.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(3)), {}, { deadline: new Date(Date.now() + 5_000) });
  grpc.close();
  return reply;
};

afterAll(() => {
  repository.remove();
  certificates.remove();
});

describe('gRPC over TLS', () => {
  let gateway: RunningServer;
  beforeAll(async () => {
    gateway = await startTestGateway(repository.dir, { ...tlsEnv, GRPC_PORT: String(await freePort()) });
  });
  afterAll(() => gateway.close());

  it('serves TLS clients that trust the CA, and no plaintext client', async () => {
    expect((await live(gateway.grpcAddress!, credentials.createSsl(certificates.ca.cert))).message).toEqual({ live: true });
    expect((await live(gateway.grpcAddress!, credentials.createInsecure())).error?.code).toBe(status.UNAVAILABLE);
    expect((await infer(gateway.grpcAddress!, credentials.createSsl(certificates.ca.cert))).error).toBeUndefined();
    expect((await infer(gateway.grpcAddress!, credentials.createInsecure())).error?.code).toBe(status.UNAVAILABLE);
  });
});

describe('gRPC over mTLS', () => {
  let gateway: RunningServer;
  beforeAll(async () => {
    gateway = await startTestGateway(repository.dir, {
      ...tlsEnv,
      TLS_CA_FILE: file('grpc-ca.crt', certificates.ca.cert),
      GRPC_PORT: String(await freePort()),
    });
  });
  afterAll(() => gateway.close());

  it('needs a client certificate signed by TLS_CA_FILE', async () => {
    expect((await live(gateway.grpcAddress!, credentials.createSsl(certificates.ca.cert, client.key, client.cert))).message).toEqual({
      live: true,
    });
    expect((await live(gateway.grpcAddress!, credentials.createSsl(certificates.ca.cert))).error?.code).toBe(status.UNAVAILABLE);
    const withCertificate = credentials.createSsl(certificates.ca.cert, client.key, client.cert);
    expect((await infer(gateway.grpcAddress!, withCertificate)).error).toBeUndefined();
    expect((await infer(gateway.grpcAddress!, credentials.createSsl(certificates.ca.cert))).error?.code).toBe(status.UNAVAILABLE);
  });
});
