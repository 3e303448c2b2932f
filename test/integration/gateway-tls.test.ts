import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request, Agent, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../gateway/config.js';
import { watchTlsFiles, readTlsFiles, type TlsMaterial } from '../../gateway/tls/tls-files.js';
import type { RunningServer } from '../../gateway/server.js';
import { TestCertificates, type Pem } from '../helpers/certificates.js';
import { startTestGateway } from '../helpers/gateway.js';
import { render } from '../helpers/helm.js';
import { TestRepository } from '../helpers/repository.js';

interface Answer {
  status: number;
  body: string;
  /** The serial of the certificate the server presented on this connection. */
  serial: number;
  socket: TLSSocket;
}

function httpsGet(url: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...options }, (res) => {
      const socket = res.socket as TLSSocket;
      const serial = Number.parseInt(socket.getPeerCertificate().serialNumber, 16);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body, serial, socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls until `check` holds; the tests wait for a condition, never for a duration. */
async function until<T>(probe: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const certificates = new TestCertificates();
const rogue = new TestCertificates('rogue-ca');
const repository = new TestRepository();
const cleanups: (() => unknown)[] = [];
const path = (name: string): string => join(certificates.dir, name);

/** Writes a server certificate and key to fixed paths, as a Secret volume presents them. */
function install(pem: Pem, prefix = 'listener'): { TLS_CERT_FILE: string; TLS_KEY_FILE: string } {
  writeFileSync(path(`${prefix}.key`), pem.key);
  writeFileSync(path(`${prefix}.crt`), pem.cert);
  return { TLS_CERT_FILE: path(`${prefix}.crt`), TLS_KEY_FILE: path(`${prefix}.key`) };
}

async function gateway(env: Record<string, string>): Promise<RunningServer> {
  const server = await startTestGateway(repository.dir, env);
  cleanups.push(() => server.close());
  return server;
}

beforeAll(() => {
  writeFileSync(path('trusted-ca.crt'), certificates.ca.cert);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => {
  certificates.remove();
  rogue.remove();
  repository.remove();
});

describe('TLS on the gateway listener', () => {
  it('serves HTTPS with the configured certificate; plain HTTP to the port gets no answer, and the gateway stays up', async () => {
    const server = await gateway(install(certificates.server(1001)));
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await httpsGet(`${server.url}/v2/health/live`, { ca: certificates.ca.cert });
    expect(answer).toMatchObject({ status: 200, serial: 1001 });
    expect(JSON.parse(answer.body)).toEqual({ live: true });
    await expect(fetch(`${server.url.replace('https:', 'http:')}/v2/health/live`)).rejects.toThrow();
    // A client that does not trust the CA refuses the certificate.
    await expect(httpsGet(`${server.url}/v2/health/live`)).rejects.toThrow(/self-signed certificate in certificate chain|unable to verify/);
    expect((await httpsGet(`${server.url}/v2/health/live`, { ca: certificates.ca.cert })).status).toBe(200);
  });

  it('with TLS_CA_FILE, a client without a certificate, or with one another CA signed, is refused; one the CA signed is served', async () => {
    const server = await gateway({ ...install(certificates.server(1002)), TLS_CA_FILE: path('trusted-ca.crt') });
    const url = `${server.url}/v2/health/live`;
    await expect(httpsGet(url, { ca: certificates.ca.cert })).rejects.toThrow(/certificate required|ECONNRESET|socket hang up/);
    const stranger = rogue.client(7);
    await expect(httpsGet(url, { ca: certificates.ca.cert, key: stranger.key, cert: stranger.cert })).rejects.toThrow(
      /unknown ca|ECONNRESET|socket hang up/,
    );
    const client = certificates.client(8);
    const answer = await httpsGet(url, { ca: certificates.ca.cert, key: client.key, cert: client.cert });
    expect(answer).toMatchObject({ status: 200, serial: 1002 });
    expect(answer.socket.authorized).toBe(true);
  });

  it('a rotated certificate at the same paths is served to the next connection, without a restart or dropping the open one', async () => {
    const files = install(certificates.server(1003), 'rotating');
    const server = await gateway({ ...files, TLS_RELOAD_INTERVAL_MS: '20' });
    const url = `${server.url}/v2/health/live`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: certificates.ca.cert });
    cleanups.push(() => agent.destroy());
    const before = await httpsGet(url, { agent });
    expect(before.serial).toBe(1003);

    install(certificates.server(1004), 'rotating');
    const after = await until(
      () => httpsGet(url, { ca: certificates.ca.cert }),
      (answer) => answer.serial === 1004,
      'the new certificate',
    );
    expect(after.status).toBe(200);
    // The kept-alive connection from before the rotation still answers, with its original certificate.
    const reused = await httpsGet(url, { agent });
    expect(reused.socket).toBe(before.socket);
    expect(reused).toMatchObject({ status: 200, serial: 1003 });
  });
});

interface TestPod {
  spec: { containers: { command: string[]; env: { name: string; value?: string }[] }[] };
}

/** Runs the Helm test pod's script, rendered from these values, here against `url`; the rest of its environment as rendered. */
function runHelmTest(values: object, url: string, extra: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  const pod = render([{ redis: { url: 'redis://r:6379' } }, values]).find((manifest) => manifest.kind === 'Pod') as unknown as TestPod;
  const [test] = pod.spec.containers;
  const rendered = Object.fromEntries(test!.env.filter((entry) => entry.value !== undefined).map((entry) => [entry.name, entry.value!]));
  expect(rendered.GATEWAY).toBe(`${url.split(':')[0]}://sy-gateway:8080`);
  // The admin key comes from a Secret in the cluster; the open gateway here takes any.
  const env = { PATH: process.env.PATH, ...rendered, GATEWAY: url, API_KEY: 'any', ...extra };
  return new Promise((resolve) => {
    execFile(test!.command[0]!, test!.command.slice(1), { env }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code as number) : 0, output: stdout + stderr });
    });
  });
}

describe("the chart's Helm test", () => {
  it('its rendered script posts an inference through a gateway requiring client certificates, with the files the chart mounts; and over HTTP', async () => {
    const mtls = { tls: { enabled: true, secretName: 't', clientCA: { enabled: true, clientSecretName: 'c' } } };
    const tlsDir = path('helm-test');
    mkdirSync(tlsDir);
    const client = certificates.client(30);
    writeFileSync(join(tlsDir, 'ca.crt'), certificates.ca.cert);
    writeFileSync(join(tlsDir, 'client.crt'), client.cert);
    writeFileSync(join(tlsDir, 'client.key'), client.key);
    const models = new TestRepository().copy('mlp-classifier');
    cleanups.push(() => models.remove());
    const server = await startTestGateway(models.dir, { ...install(certificates.server(1030)), TLS_CA_FILE: path('trusted-ca.crt') });
    cleanups.push(() => server.close());
    // (Without client files it would retry the refused handshake for two minutes, as it does while a release starts.)
    const secure = await runHelmTest(mtls, server.url, { TLS_DIR: tlsDir });
    expect(secure.output).toMatch(/^ok: \{"model_name":"mlp-classifier"/);
    expect(secure.code).toBe(0);
    const plainServer = await startTestGateway(models.dir);
    cleanups.push(() => plainServer.close());
    const plain = await runHelmTest({}, plainServer.url);
    expect(plain.output).toMatch(/^ok: \{"model_name":"mlp-classifier"/);
    expect(plain.code).toBe(0);
  });
});

describe('TLS files: checked at start-up, re-read on change', () => {
  it("the configuration refuses half a pair, a CA without a certificate, unreadable files and a key that is not the certificate's", () => {
    const base = { MODEL_REPOSITORY: repository.dir, LOG_LEVEL: 'silent' };
    const files = install(certificates.server(1010), 'config');
    expect(parseConfig({ ...base, ...files }).TLS_CERT_FILE).toBe(files.TLS_CERT_FILE);
    const refusal = (env: Record<string, string>): string => {
      try {
        parseConfig({ ...base, ...env });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal({ TLS_CERT_FILE: files.TLS_CERT_FILE })).toBe('invalid environment: TLS_CERT_FILE and TLS_KEY_FILE go together');
    const caAlone = refusal({ TLS_CA_FILE: path('trusted-ca.crt') });
    expect(caAlone).toBe('invalid environment: TLS_CA_FILE (client certificates) needs TLS_CERT_FILE and TLS_KEY_FILE');
    expect(refusal({ ...files, TLS_CA_FILE: path('missing.crt') })).toBe(
      `invalid TLS files: ${path('missing.crt')}: cannot be read (ENOENT)`,
    );
    const other = install(certificates.server(1011), 'other');
    const mismatched = refusal({ TLS_CERT_FILE: files.TLS_CERT_FILE, TLS_KEY_FILE: other.TLS_KEY_FILE });
    expect(mismatched).toMatch(/^invalid TLS files: .*config\.crt, .*other\.key: not a usable certificate, key and CA \(\w+\)$/);
    writeFileSync(path('not-pem.json'), '{"ca": "not a certificate"}');
    expect(refusal({ ...files, TLS_CA_FILE: path('not-pem.json') })).toBe(
      `invalid TLS files: ${path('not-pem.json')}: no certificate in the client CA bundle (PEM "BEGIN CERTIFICATE" blocks)`,
    );
    writeFileSync(path('garbage.crt'), 'not a certificate');
    expect(refusal({ ...files, TLS_CERT_FILE: path('garbage.crt') })).toMatch(
      /garbage\.crt, .*config\.key: not a usable certificate, key and CA/,
    );
  });

  it('a half-written rotation (new certificate, old key) is reported and skipped; the matching key completes it', async () => {
    const files = install(certificates.server(1020), 'watched');
    const tlsFiles = { certFile: files.TLS_CERT_FILE, keyFile: files.TLS_KEY_FILE };
    const changes: TlsMaterial[] = [];
    const errors: Error[] = [];
    const watcher = watchTlsFiles(
      tlsFiles,
      readTlsFiles(tlsFiles),
      (material) => changes.push(material),
      (error) => errors.push(error),
      10,
    );
    cleanups.push(() => watcher.close());
    const next = certificates.server(1021);
    writeFileSync(files.TLS_CERT_FILE, next.cert);
    await until(
      async () => errors.length,
      (count) => count > 0,
      'the mismatch to be reported',
    );
    expect(errors[0]!.message).toMatch(/watched\.crt, .*watched\.key: not a usable certificate, key and CA/);
    expect(changes).toEqual([]);
    writeFileSync(files.TLS_KEY_FILE, next.key);
    await until(
      async () => changes.length,
      (count) => count > 0,
      'the completed rotation',
    );
    expect(changes[0]!.cert.equals(next.cert) && changes[0]!.key.equals(next.key)).toBe(true);
    expect(errors).toHaveLength(1);
  });
});
