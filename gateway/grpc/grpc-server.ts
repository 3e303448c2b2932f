import { experimental, Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { TlsFiles } from '../tls/tls-files.js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { GrpcFront } from './grpc-call.js';
import { inferCodec, inferHandlers } from './infer-service.js';
import { leanModelInfer } from './lean-model-infer.js';
import { routePast } from './route-past.js';
import { CONNECTION_IDLE_MS, limitConnections, RECEIVE_TIMEOUT_MS, receiveDeadline } from './transport-limits.js';
import { loadInferenceService } from './load-service.js';
import { modelHandlers } from './model-service.js';
import { settingsHandlers } from './settings-service.js';

export interface GrpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxMessageBytes: number;
  /** Calls open at once on one connection (GRPC_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams?: number;
  /** Connections held at once (MAX_CONNECTIONS). */
  readonly maxConnections?: number;
  readonly front: GrpcFront;
  /** The HTTP listener's certificate files (TLS_*): the gRPC port is TLS (or mTLS) exactly when HTTP is. */
  readonly tls?: { readonly files: TlsFiles; readonly reloadIntervalMs: number };
}

/**
 * Plaintext, or TLS from the same files as HTTP, re-read every reloadIntervalMs by grpc-js's
 * file watcher (a rotated certificate reaches new connections without a restart).
 */
function credentialsFor(tls: GrpcServerOptions['tls']): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const { files, reloadIntervalMs } = tls;
  const provider = new experimental.FileWatcherCertificateProvider({
    certificateFile: files.certFile,
    privateKeyFile: files.keyFile,
    ...(files.caFile ? { caCertificateFile: files.caFile } : {}),
    refreshIntervalMs: reloadIntervalMs,
  });
  // The first provider gives the server's identity, the second the CA that client certificates must chain to.
  return experimental.createCertificateProviderServerCredentials(provider, files.caFile ? provider : null, Boolean(files.caFile));
}

export interface RunningGrpcServer {
  /** host:port, the port the kernel gave when 0 was asked for. */
  readonly address: string;
  readonly port: number;
  /** Whether ModelInfer is served on the HTTP/2 stream itself (leanModelInfer), not through grpc-js's call machinery. */
  readonly leanModelInfer: boolean;
  /** Refuses new calls, waits for those in flight, then stops. */
  close(): Promise<void>;
}

/** Health service names: '' and the inference service follow readiness; `live` is the process answering. */
export const HEALTH_SERVICES = { ready: ['', 'inference.GRPCInferenceService'], live: 'live' } as const;

/**
 * inference.GRPCInferenceService (the KServe v2 gRPC API as Triton serves it) over the same
 * request pipeline as HTTP, with grpc.health.v1.Health for Kubernetes gRPC probes and server
 * reflection so grpcurl needs no .proto file.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const { front } = options;
  const service = loadInferenceService();
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    // Bounds for what one client may hold: node:http2 advertises 2^32-1 streams a connection (400,000
    // calls opened and left open took the heap past its limit), and grpc-js closes no idle connection.
    'grpc.max_concurrent_streams': options.maxConcurrentStreams ?? 1000,
    'grpc.max_connection_idle_ms': CONNECTION_IDLE_MS,
    // Channelz (on by default) keeps per-call counters and traces that nothing here reads:
    // a cost on every call. Metrics and traces come from the request pipeline instead.
    'grpc.enable_channelz': 0,
  });
  const handlers: UntypedServiceImplementation = {
    ...modelHandlers(front),
    ...settingsHandlers(front),
    ...inferHandlers(front, service.definition, options.maxMessageBytes),
  };
  server.addService(service.definition, handlers);
  const limits = { maxReceiveBytes: options.maxMessageBytes, maxSendBytes: options.maxMessageBytes };
  const lean = routePast(
    server,
    '/inference.GRPCInferenceService/ModelInfer',
    leanModelInfer(front, inferCodec(service.definition), limits),
    receiveDeadline(RECEIVE_TIMEOUT_MS),
  );
  if (!lean) front.logger.warn('grpc-js internals differ from the expected ones: ModelInfer is served through grpc-js (slower)');

  const health = new HealthImplementation({ [HEALTH_SERVICES.live]: 'SERVING' });
  const readiness = (): ServingStatus =>
    front.pipeline.lifecycle.phase() === 'serving' && front.pipeline.backend.isReady() ? 'SERVING' : 'NOT_SERVING';
  const refresh = (): void => {
    const status = readiness();
    for (const name of HEALTH_SERVICES.ready) health.setStatus(name, status);
  };
  refresh();
  // Readiness changes as models load and the process drains; probes read the latest.
  const timer = setInterval(refresh, 1000);
  timer.unref();
  health.addToServer(server);
  new ReflectionService(service.packageDefinition).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    server.bindAsync(`${host}:${options.port}`, credentialsFor(options.tls), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  if (options.maxConnections !== undefined && !limitConnections(server, options.maxConnections))
    front.logger.warn('grpc-js internals differ from the expected ones: MAX_CONNECTIONS does not bound the gRPC port');
  return {
    address: `${options.host}:${port}`,
    port,
    leanModelInfer: lean,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        for (const name of HEALTH_SERVICES.ready) health.setStatus(name, 'NOT_SERVING');
        server.tryShutdown(() => resolve());
      }),
  };
}
