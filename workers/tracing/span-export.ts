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
import type { SamplerName, TracingSettings } from './tracing-config.js';
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
