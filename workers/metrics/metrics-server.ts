import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Workers have no HTTP API; this listener answers `GET /metrics`, so Prometheus can
 * scrape the ModelManager that runs there, and `GET /ready`, so a pod's readiness probe
 * can wait for warm models (200 when `ready()` says so, 503 otherwise). No
 * authentication: it says what runs and how fast, never request data, and listens on
 * loopback unless told.
 */
export async function startMetricsServer(
  registry: Registry,
  host: string,
  port: number,
  ready: () => boolean = () => true,
): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (request.method === 'GET' && path === '/ready') {
      const isReady = ready();
      response.writeHead(isReady ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify({ ready: isReady })}\n`);
      return;
    }
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
