import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceBatch } from '../../workers/tracing/batch-trace.js';
import { startTracing, type TracingHandle } from '../../workers/tracing/span-export.js';
import { OtlpReceiver } from '../helpers/otlp/otlp-receiver.js';

const SAMPLED = (n: number): string => `00-${String(n).padStart(32, 'a')}-${String(n).padStart(16, 'b')}-01`;
const UNSAMPLED = `00-${'c'.repeat(32)}-${'d'.repeat(16)}-00`;

let receiver: OtlpReceiver;
let tracing: TracingHandle;
beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  const batch = { scheduledDelayMillis: 50, exportTimeoutMillis: 5_000, maxQueueSize: 1024, maxExportBatchSize: 512 };
  tracing = startTracing(
    {
      url: `${receiver.endpoint}/v1/traces`,
      headers: {},
      timeoutMs: 5_000,
      resourceAttributes: {},
      sampler: 'parentbased_always_on',
      ratio: 1,
      batch,
    },
    'batch-trace-test',
  )!;
});
afterAll(async () => {
  await tracing.shutdown();
  await receiver.close();
});

/**
 * The worker's batch spans with a real tracer provider exporting over OTLP/HTTP to a real
 * receiver: a batch of several requests (which process tests cannot form on demand).
 */
describe('batch spans', () => {
  it('one batch span in the first sampled trace, linked to every request; queue waits only in the sampled traces, linked back', async () => {
    const started = performance.now();
    const requests = [UNSAMPLED, SAMPLED(1), SAMPLED(2)].map((traceparent, i) => ({
      request: { traceparent },
      enqueuedAtPerf: started - 5 + i,
    }));
    const traced = traceBatch('mlp-classifier', '1', 0, requests, started, 3)!;
    traced.runtimeStarted('cpu');
    traced.runtimeDone(1.5, 0.06, 0.04);
    traced.end();
    await tracing.flush();

    const batch = receiver.spans.find((span) => span.name === 'batch mlp-classifier')!;
    expect(batch).toMatchObject({ kind: 'SPAN_KIND_CONSUMER', traceId: '1'.padStart(32, 'a'), parentSpanId: '1'.padStart(16, 'b') });
    expect(batch.links).toEqual([
      { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16) },
      { traceId: '1'.padStart(32, 'a'), spanId: '1'.padStart(16, 'b') },
      { traceId: '2'.padStart(32, 'a'), spanId: '2'.padStart(16, 'b') },
    ]);
    expect(batch.attributes).toMatchObject({
      'messaging.batch.message_count': 3,
      'switchyard.batch_rows': 3,
      'triton.model_name': 'mlp-classifier',
      'triton.model_version': '1',
    });
    const runtime = receiver.spans.find((span) => span.name === 'infer mlp-classifier')!;
    expect(runtime).toMatchObject({ traceId: batch.traceId, parentSpanId: batch.spanId });
    expect(runtime.attributes).toMatchObject({
      'switchyard.batch_size': 3,
      'switchyard.compute_ms': 1.5,
      'switchyard.execution_provider': 'cpu',
    });

    const queues = receiver.spans.filter((span) => span.name === 'queue mlp-classifier');
    expect(queues.map((span) => [span.traceId, span.parentSpanId])).toEqual([
      ['1'.padStart(32, 'a'), '1'.padStart(16, 'b')],
      ['2'.padStart(32, 'a'), '2'.padStart(16, 'b')],
    ]);
    for (const queue of queues) {
      expect(queue.links).toEqual([{ traceId: batch.traceId, spanId: batch.spanId }]);
      // Each span anchors its clock to Date.now() (millisecond steps): times across spans agree to 1 ms.
      expect(queue.endNs).toBeLessThanOrEqual(batch.startNs + 1_000_000n);
    }
    expect(queues[0]!.attributes['switchyard.queue_ms']).toBeCloseTo(4, 5);
  });

  it('makes nothing when no request in the batch was sampled, and a failed batch is marked failed', async () => {
    expect(
      traceBatch(
        'm',
        '1',
        0,
        [
          { request: { traceparent: UNSAMPLED }, enqueuedAtPerf: 0 },
          { request: {}, enqueuedAtPerf: 0 },
        ],
        performance.now(),
        2,
      ),
    ).toBeUndefined();
    const traced = traceBatch(
      'failing',
      '1',
      0,
      [{ request: { traceparent: SAMPLED(3) }, enqueuedAtPerf: performance.now() }],
      performance.now(),
      1,
    )!;
    traced.runtimeStarted('cpu');
    traced.end(Object.assign(new Error('session.run failed'), { code: 'inference_failed' }));
    await tracing.flush();
    const failed = receiver.spans.filter((span) => span.name === 'batch failing' || span.name === 'infer failing');
    expect(failed.map((span) => [span.name, span.status.code, span.attributes['error.type']])).toEqual([
      ['infer failing', 'STATUS_CODE_ERROR', 'inference_failed'],
      ['batch failing', 'STATUS_CODE_ERROR', 'inference_failed'],
    ]);
  });
});
