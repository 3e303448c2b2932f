import { activeTracer, childSpan, endWithError, spanContextOf, traceparentOfSpan, type Attributes } from '../../workers/tracing/tracer.js';

/**
 * Runs part of a task (the whole run, or one pipeline step) as a span in the trace of the
 * request that created the task; `run` gets the traceparent its model calls continue from,
 * so the workers' spans nest under it. Without tracing, or an unsampled parent, a plain call.
 */
export async function traceTaskPart<T>(
  traceparent: string | undefined,
  name: string,
  attributes: Attributes,
  run: (traceparent: string | undefined) => Promise<T>,
): Promise<T> {
  if (activeTracer() === undefined) return run(traceparent);
  const span = childSpan(spanContextOf(traceparent), name, attributes);
  if (span === undefined) return run(traceparent);
  try {
    const result = await run(traceparentOfSpan(span));
    span.end();
    return result;
  } catch (error) {
    endWithError(span, error);
    throw error;
  }
}
