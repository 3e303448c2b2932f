import { describe, expect, it } from 'vitest';
import { ConfigError, parseWorkerConfig } from '../../workers/config.js';
import { tracingSettings } from '../../workers/tracing/tracing-config.js';

const BASE = { REDIS_URL: 'redis://127.0.0.1:6379', WORKER_ID: 'w' };
const settingsOf = (env: Record<string, string>) => tracingSettings(parseWorkerConfig({ ...BASE, ...env }));

describe('OTEL_* settings', () => {
  it('are off when no OTLP endpoint is set, when the SDK is disabled, or with the `none` exporter', () => {
    expect(settingsOf({})).toBeUndefined();
    expect(settingsOf({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' })).toBeUndefined();
    expect(settingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(settingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  });

  it('read the standard variables: /v1/traces under the base endpoint, headers URL-decoded, sampler and ratio', () => {
    expect(
      settingsOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%20b, tenant=t1',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'tenant=t2',
        OTEL_SERVICE_NAME: 'edge-gateway',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        OTEL_BSP_MAX_QUEUE_SIZE: '100',
      }),
    ).toEqual({
      url: 'http://collector:4318/v1/traces',
      headers: { 'api-key': 'a b', tenant: 't2' },
      timeoutMs: 10_000,
      serviceName: 'edge-gateway',
      resourceAttributes: { 'deployment.environment': 'prod' },
      sampler: 'parentbased_traceidratio',
      ratio: 0.1,
      batch: { scheduledDelayMillis: 5000, exportTimeoutMillis: 30_000, maxQueueSize: 100, maxExportBatchSize: 100 },
    });
    // The signal-specific endpoint is used as given.
    expect(
      settingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/otlp/traces' })?.url,
    ).toBe('https://b/otlp/traces');
    expect(settingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' })).toMatchObject({ sampler: 'parentbased_always_on', ratio: 1 });
  });

  it('refuse what would be silently ignored or misread, at start-up', () => {
    for (const bad of [
      { OTEL_TRACES_SAMPLER: 'sometimes' },
      { OTEL_TRACES_SAMPLER_ARG: '1.5' },
      { OTEL_TRACES_SAMPLER_ARG: 'ten percent' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      { OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign' },
      { OTEL_BSP_SCHEDULE_DELAY: '0' },
      { OTEL_SDK_DISABLED: 'yes' },
    ]) {
      expect(() => settingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', ...bad }), JSON.stringify(bad)).toThrow(ConfigError);
    }
  });

  it('name the setting whose percent-encoding or header is bad', () => {
    for (const [name, value, message] of [
      ['OTEL_EXPORTER_OTLP_HEADERS', 'x=%ZZ', 'bad percent-encoding'],
      ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'x=%E0%A4%A', 'bad percent-encoding'],
      ['OTEL_RESOURCE_ATTRIBUTES', 'a=%E0%A4%A', 'bad percent-encoding'],
      ['OTEL_EXPORTER_OTLP_HEADERS', 'x-a=b%0D%0AInjected: yes', 'header "x-a": not a valid HTTP header name and value'],
      ['OTEL_EXPORTER_OTLP_HEADERS', 'bad%20name=v', 'header "bad name": not a valid HTTP header name and value'],
    ]) {
      expect(() => settingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', [name!]: value! })).toThrow(
        `invalid environment: ${name}: ${message}`,
      );
    }
    expect(() => settingsOf({ OTEL_BSP_SCHEDULE_DELAY: '3000000000' })).toThrow(/OTEL_BSP_SCHEDULE_DELAY: /);
  });
});
