import type { FastifyInstance } from 'fastify';
import type { ServerOptions } from 'node:https';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { readTlsFiles, tlsFiles, watchTlsFiles, type TlsMaterial, type TlsSettings } from './tls-files.js';

export interface ListenerTls {
  /** fastify's `https` option: with a CA, a client without a certificate it signed fails the handshake. */
  readonly serverOptions: ServerOptions;
  /** Reloads rotated files into the app's server (new handshakes get them; open connections stay) until it closes. */
  attach(app: FastifyInstance): void;
}

const secureContext = (material: TlsMaterial): ServerOptions => ({
  key: material.key,
  cert: material.cert,
  ...(material.ca ? { ca: material.ca } : {}),
  minVersion: 'TLSv1.2',
});

export function listenerTls(settings: TlsSettings, logger: Logger): ListenerTls | undefined {
  const files = tlsFiles(settings);
  if (!files) return undefined;
  const material = readTlsFiles(files);
  const verifyClients = Boolean(files.caFile);
  return {
    serverOptions: { ...secureContext(material), requestCert: verifyClients, rejectUnauthorized: verifyClients },
    attach(app) {
      const server = app.server as unknown as TlsServer;
      const watcher = watchTlsFiles(
        files,
        material,
        (next) => {
          server.setSecureContext(secureContext(next));
          logger.info({ certFile: files.certFile }, 'TLS certificate reloaded');
        },
        (error) => logger.error({ err: error }, 'TLS files changed but cannot be used; keeping the previous certificate'),
        settings.TLS_RELOAD_INTERVAL_MS,
      );
      app.addHook('onClose', (_instance, done) => {
        watcher.close();
        done();
      });
    },
  };
}
