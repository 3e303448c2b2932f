import { validateHeaderName, validateHeaderValue } from 'node:http';
import { z } from 'zod';
import { MAX_TIMER_MS } from '../runtime/max-timer.js';

/**
 * The standard OTEL_* variables Switchyard reads (the OpenTelemetry SDK configuration spec),
 * validated with the rest of the environment so a typo fails at start-up instead of silently
 * falling back. Traces are exported only when an OTLP endpoint is set.
 */
/** `key=value` pairs, comma-separated, each side percent-decoded; a bad escape is a validation issue (naming the setting), not a throw. */
const keyValues = z
  .string()
  .regex(/^\s*[^=,\s]+\s*=[^,]*(,\s*[^=,\s]+\s*=[^,]*)*$/, 'key=value pairs, comma-separated')
  .transform((value, ctx) => {
    try {
      return Object.fromEntries(
        value.split(',').map((pair) => {
          const at = pair.indexOf('=');
          return [decodeURIComponent(pair.slice(0, at).trim()), decodeURIComponent(pair.slice(at + 1).trim())];
        }),
      );
    } catch {
      ctx.addIssue({ code: 'custom', message: 'bad percent-encoding (a % must start an escape such as %20 of UTF-8 bytes)' });
      return z.NEVER;
    }
  });
/** Headers sent with every export: names and values HTTP accepts (a decoded CR or LF would fail every export). */
const headers = keyValues.superRefine((pairs, ctx) => {
  for (const [name, value] of Object.entries(pairs)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `header "${name.replace(/[^\x20-\x7e]/g, '?')}": not a valid HTTP header name and value` });
    }
  }
});
const url = z.url({ protocol: /^https?$/ });
const millis = (fallback: number) => z.coerce.number().int().min(1).max(MAX_TIMER_MS).default(fallback);

export const tracingEnvironment = z.object({
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).default('false'),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).default('otlp'),
  /** Base URL: traces go to <endpoint>/v1/traces. */
  OTEL_EXPORTER_OTLP_ENDPOINT: url.optional(),
  /** The full traces URL, used as given. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url.optional(),
  /** Only OTLP over HTTP with protobuf bodies is shipped (no gRPC exporter). */
  OTEL_EXPORTER_OTLP_PROTOCOL: z.literal('http/protobuf').default('http/protobuf'),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.literal('http/protobuf').optional(),
  OTEL_EXPORTER_OTLP_HEADERS: headers.optional(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: headers.optional(),
  OTEL_EXPORTER_OTLP_TIMEOUT: millis(10_000),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: z.coerce.number().int().min(1).max(MAX_TIMER_MS).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_RESOURCE_ATTRIBUTES: keyValues.optional(),
  OTEL_TRACES_SAMPLER: z
    .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
    .default('parentbased_always_on'),
  /** The ratio for the *traceidratio samplers. */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  /** The batch span processor: spans are sent in the background, never on a request's path. */
  OTEL_BSP_SCHEDULE_DELAY: millis(5000),
  OTEL_BSP_EXPORT_TIMEOUT: millis(30_000),
  OTEL_BSP_MAX_QUEUE_SIZE: millis(2048),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: millis(512),
});

export type TracingEnvironment = z.output<typeof tracingEnvironment>;

export type SamplerName = TracingEnvironment['OTEL_TRACES_SAMPLER'];

/** What the tracer provider is built from; undefined when tracing is off. */
export interface TracingSettings {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly serviceName?: string;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: SamplerName;
  readonly ratio: number;
  readonly batch: {
    readonly scheduledDelayMillis: number;
    readonly exportTimeoutMillis: number;
    readonly maxQueueSize: number;
    readonly maxExportBatchSize: number;
  };
}

/** Off when unset, disabled, or the exporter is `none`: then no span is ever made. */
export function tracingSettings(env: TracingEnvironment): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const url =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (url === undefined) return undefined;
  return {
    url,
    headers: { ...env.OTEL_EXPORTER_OTLP_HEADERS, ...env.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    timeoutMs: env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT,
    ...(env.OTEL_SERVICE_NAME !== undefined ? { serviceName: env.OTEL_SERVICE_NAME } : {}),
    resourceAttributes: env.OTEL_RESOURCE_ATTRIBUTES ?? {},
    sampler: env.OTEL_TRACES_SAMPLER,
    ratio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
    batch: {
      scheduledDelayMillis: env.OTEL_BSP_SCHEDULE_DELAY,
      exportTimeoutMillis: env.OTEL_BSP_EXPORT_TIMEOUT,
      maxQueueSize: env.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: Math.min(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, env.OTEL_BSP_MAX_QUEUE_SIZE),
    },
  };
}
