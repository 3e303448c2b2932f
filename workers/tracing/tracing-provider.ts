import { tracingSettings, type TracingEnvironment } from './tracing-config.js';
import type { TracingHandle } from './span-export.js';

export type { TracingHandle };

/** The process's pino logger, as far as tracing uses it. */
interface TracingLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/**
 * Tracing for a gateway or worker process from its validated OTEL_* settings. Failed exports
 * are logged at most once a minute: a collector that is down must not flood the log either.
 */
export async function startProcessTracing(
  env: TracingEnvironment,
  serviceName: string,
  log: TracingLog,
): Promise<TracingHandle | undefined> {
  const settings = tracingSettings(env);
  if (settings === undefined) return undefined;
  // The OpenTelemetry SDK and its exporter (about 200 modules, a fifth of a second to load and
  // megabytes of heap that every full collection marks) are loaded only when tracing is on.
  const { startTracing } = await import('./span-export.js');
  let lastLogged = Number.NEGATIVE_INFINITY;
  let dropped = 0;
  const handle = startTracing(settings, serviceName, (error) => {
    dropped += 1;
    if (Date.now() - lastLogged < 60_000) return;
    lastLogged = Date.now();
    log.warn(
      { err: error, failedExports: dropped, endpoint: settings.url },
      'span export failed; requests are unaffected, spans are dropped',
    );
    dropped = 0;
  });
  log.info({ endpoint: settings.url, sampler: settings.sampler, ratio: settings.ratio }, 'exporting traces over OTLP');
  return handle;
}
