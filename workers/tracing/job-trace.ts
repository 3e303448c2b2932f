import { activeTracer, childSpan, SpanKind, spanContextOf } from './tracer.js';

/**
 * Distributed mode: the time each sampled request of a BullMQ job waited in Redis, from the
 * gateway's enqueue (the job's timestamp; clocks assumed NTP-synced) to this worker taking it,
 * as a span in the request's trace (OTel's messaging conventions: a `receive` of the job).
 */
export function traceJobWait(
  queue: string,
  jobId: string | undefined,
  enqueuedAt: number,
  attempt: number,
  requests: readonly { readonly request: { readonly traceparent?: string | undefined } }[],
): void {
  if (activeTracer() === undefined) return;
  const now = Date.now();
  for (const { request } of requests) {
    const parent = spanContextOf(request.traceparent);
    if (parent === undefined || (parent.traceFlags & 1) === 0) continue;
    const span = childSpan(
      parent,
      `receive ${queue}`,
      {
        'messaging.system': 'redis',
        'messaging.operation.type': 'receive',
        'messaging.destination.name': queue,
        ...(jobId !== undefined ? { 'messaging.message.id': jobId } : {}),
        'messaging.batch.message_count': requests.length,
        'switchyard.redis_wait_ms': Math.max(0, now - enqueuedAt),
        'switchyard.attempt': attempt,
      },
      { kind: SpanKind.CONSUMER, startTime: Math.min(enqueuedAt, now) },
    );
    span?.end(now);
  }
}
