import { activeTracer, childSpan, endWithError, SpanKind, spanContextOf, type Link, type Span, type SpanContext } from './tracer.js';

/** A queued request as the batch sees it: whose trace it joins, and when (performance.now()) it was queued. */
export interface TracedRequest {
  readonly request: { readonly traceparent?: string | undefined };
  readonly enqueuedAtPerf: number;
}

/** The traceparent's sampled flag, read without parsing the rest: most requests are not sampled. */
function sampled(request: TracedRequest): boolean {
  const traceparent = request.request.traceparent;
  return traceparent !== undefined && (Number.parseInt(traceparent.slice(-2), 16) & 1) === 1;
}

export interface BatchTrace {
  /** The instance's run of the batch (onnxruntime's or TensorFlow's session call) begins... */
  runtimeStarted(provider: string): void;
  /** ...and ends, with the compute time the instance measured. */
  runtimeDone(computeMs: number, inputMs: number, outputMs: number): void;
  /** Ends the batch span; failed when an error is given. */
  end(error?: unknown): void;
}

/**
 * One batch on one instance. The batch span joins the trace of the first sampled request in
 * it (so a request served alone nests end to end) and links to every request it served;
 * each sampled request also gets its queue wait as a span in its own trace, linked back to
 * the batch. Semantic attributes follow Triton's OpenTelemetry mode (triton.model_*) and
 * OTel's messaging batch conventions (messaging.batch.message_count).
 */
export function traceBatch(
  model: string,
  version: string,
  slot: number,
  requests: readonly TracedRequest[],
  startedPerf: number,
  batchRows: number,
): BatchTrace | undefined {
  if (activeTracer() === undefined || !requests.some(sampled)) return undefined;
  const parents: (SpanContext | undefined)[] = requests.map((request) => spanContextOf(request.request.traceparent));
  const first = parents.find((parent) => parent !== undefined && (parent.traceFlags & 1) === 1);
  if (first === undefined) return undefined;
  const links: Link[] = [];
  for (const parent of parents) if (parent) links.push({ context: parent });
  const attributes = { 'triton.model_name': model, 'triton.model_version': version };
  const batch = childSpan(
    first,
    `batch ${model}`,
    { ...attributes, 'messaging.batch.message_count': requests.length, 'switchyard.batch_rows': batchRows, 'switchyard.instance': slot },
    { kind: SpanKind.CONSUMER, startTime: startedPerf, links },
  );
  if (batch === undefined) return undefined;
  const toBatch = [{ context: batch.spanContext() }];
  requests.forEach((request, index) => {
    const queued = childSpan(
      parents[index],
      `queue ${model}`,
      { ...attributes, 'switchyard.queue_ms': startedPerf - request.enqueuedAtPerf, 'messaging.batch.message_count': requests.length },
      { startTime: request.enqueuedAtPerf, links: toBatch },
    );
    queued?.end(startedPerf);
  });
  let runtime: Span | undefined;
  return {
    runtimeStarted: (provider) => {
      runtime = childSpan(batch, `infer ${model}`, {
        ...attributes,
        'switchyard.batch_size': requests.length,
        'switchyard.execution_provider': provider,
      });
    },
    runtimeDone: (computeMs, inputMs, outputMs) => {
      runtime?.setAttributes({ 'switchyard.compute_ms': computeMs, 'switchyard.marshal_ms': inputMs + outputMs }).end();
      runtime = undefined;
    },
    end: (error) => {
      if (error === undefined) return batch.end();
      endWithError(runtime, error);
      endWithError(batch, error);
    },
  };
}
