import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { tracingSettings, type SamplerName, type TracingEnvironment, type TracingSettings } from './tracing-config.js';
import { setActiveTracer } from './tracer.js';

function samplerFor(name: SamplerName, ratio: number): Sampler {
  const root = name.endsWith('always_on')
    ? new AlwaysOnSampler()
    : name.endsWith('always_off')
      ? new AlwaysOffSampler()
      : new TraceIdRatioBasedSampler(ratio);
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root;
}

export interface TracingHandle {
  /** Sends what is buffered (for tests and shutdown). */
  flush(): Promise<void>;
  /** Flushes, then stops exporting; spans made later are dropped. */
  shutdown(): Promise<void>;
}

/**
 * Starts exporting spans over OTLP/HTTP (protobuf) in the background, batched: a collector that
 * is down or slow costs dropped spans (the processor's queue is bounded), never a failed or
 * delayed request. Undefined, and nothing started, when tracing is off.
 */
export function startTracing(
  settings: TracingSettings | undefined,
  defaultServiceName: string,
  onError?: (error: Error) => void,
): TracingHandle | undefined {
  if (settings === undefined) return undefined;
  const exporter = new OTLPTraceExporter({ url: settings.url, headers: { ...settings.headers }, timeoutMillis: settings.timeoutMs });
  if (onError) {
    const send = exporter.export.bind(exporter);
    exporter.export = (spans, done) =>
      send(spans, (result) => {
        if (result.error) onError(result.error);
        done(result);
      });
  }
  const provider = new BasicTracerProvider({
    // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES, as the spec says.
    resource: resourceFromAttributes({
      ...settings.resourceAttributes,
      'service.name': settings.serviceName ?? settings.resourceAttributes['service.name'] ?? defaultServiceName,
    }),
    sampler: samplerFor(settings.sampler, settings.ratio),
    spanProcessors: [new BatchSpanProcessor(exporter, settings.batch)],
  });
  setActiveTracer(provider.getTracer('switchyard'));
  return {
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      setActiveTracer(undefined);
      await provider.shutdown();
    },
  };
}

/** The process's pino logger, as far as tracing uses it. */
interface TracingLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/**
 * Tracing for a gateway or worker process from its validated OTEL_* settings. Failed exports
 * are logged at most once a minute: a collector that is down must not flood the log either.
 */
export function startProcessTracing(env: TracingEnvironment, serviceName: string, log: TracingLog): TracingHandle | undefined {
  const settings = tracingSettings(env);
  let lastLogged = Number.NEGATIVE_INFINITY;
  let dropped = 0;
  const handle = startTracing(settings, serviceName, (error) => {
    dropped += 1;
    if (Date.now() - lastLogged < 60_000) return;
    lastLogged = Date.now();
    log.warn(
      { err: error, failedExports: dropped, endpoint: settings?.url },
      'span export failed; requests are unaffected, spans are dropped',
    );
    dropped = 0;
  });
  if (settings) log.info({ endpoint: settings.url, sampler: settings.sampler, ratio: settings.ratio }, 'exporting traces over OTLP');
  return handle;
}
