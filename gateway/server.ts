/**
 * Process entry: validates the environment, loads and warms every model, then listens.
 * Embedded mode: the models run in this process, on instance threads.
 */
import pino from 'pino';
import { ModelManager } from '../workers/pool/model-manager.js';
import { instanceFactoryFor } from '../workers/runtime/instance-factory.js';
import { buildApp } from './app.js';
import { configFromEnvironment, type SwitchyardConfig } from './config.js';
import { InFlightRequests } from './http/in-flight.js';
import type { LifecyclePhase } from './routes/health.js';

export interface RunningServer {
  readonly url: string;
  /** HTTP requests received and not yet fully answered. */
  inFlight(): number;
  close(): Promise<void>;
}

export async function startServer(config: SwitchyardConfig): Promise<RunningServer> {
  const logger = pino({ level: config.LOG_LEVEL, base: { service: 'switchyard-gateway' } });
  const manager = new ModelManager({
    repository: config.MODEL_REPOSITORY,
    createInstance: instanceFactoryFor(logger),
    cpuCount: config.CPU_COUNT,
    logger,
  });
  let phase: LifecyclePhase = 'starting';
  const inFlight = new InFlightRequests();
  const app = buildApp({ backend: manager, inFlight, lifecycle: { phase: () => phase }, logger, bodyLimit: config.MAX_BODY_BYTES });

  // Listen first, so liveness answers and readiness says "not yet" while models warm up.
  const url = await app.listen({ host: config.HOST, port: config.PORT });
  try {
    await manager.loadAll(config.LOAD_MODELS);
  } catch (error) {
    await app.close();
    await manager.close();
    throw error;
  }
  phase = 'serving';
  logger.info({ url, repository: config.MODEL_REPOSITORY }, 'switchyard ready');

  let closing: Promise<void> | undefined;
  return {
    url,
    inFlight: () => inFlight.count,
    close: () => {
      closing ??= (async () => {
        // New inferences are refused from here; those in flight are answered and flushed
        // before the server closes, then the models drain.
        phase = 'draining';
        await inFlight.idle();
        await app.close();
        await manager.close();
      })();
      return closing;
    },
  };
}

async function main(): Promise<void> {
  const config = configFromEnvironment();
  const server = await startServer(config);
  const stop = (signal: string): void => {
    const timer = setTimeout(() => {
      console.error(`switchyard: still draining after ${config.SHUTDOWN_GRACE_MS} ms; exiting`);
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS);
    timer.unref();
    console.error(`switchyard: ${signal}, draining`);
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(`switchyard failed to start: ${(error as Error).message}`);
    process.exit(1);
  });
}
