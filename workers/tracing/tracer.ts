import {
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type TimeInput,
  type Tracer,
} from '@opentelemetry/api';

/**
 * The process's tracer, or none: every hook asks `activeTracer()` first, so with tracing
 * off a request pays one call and a comparison, and no span object is made.
 */
let current: Tracer | undefined;

export function activeTracer(): Tracer | undefined {
  return current;
}

export function setActiveTracer(tracer: Tracer | undefined): void {
  current = tracer;
}

export { SpanKind };
export type { Attributes, Link, Span, SpanContext };

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The remote span a W3C traceparent names (the gateway's request span, for a worker). */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (!match) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
}

export function contextWith(parent: SpanContext | Span | undefined): Context {
  if (parent === undefined) return ROOT_CONTEXT;
  return 'spanContext' in parent ? trace.setSpan(ROOT_CONTEXT, parent) : trace.setSpanContext(ROOT_CONTEXT, parent);
}

/** W3C traceparent of a span, for the next hop. */
export function traceparentOfSpan(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags & TraceFlags.SAMPLED ? '01' : '00'}`;
}

/**
 * A child of `parent` (a recording span, or a sampled remote span context), or nothing when
 * tracing is off or the parent was not sampled: callers write `child?.end()`.
 */
export function childSpan(
  parent: Span | SpanContext | undefined,
  name: string,
  attributes?: Attributes,
  options: { kind?: SpanKind; startTime?: TimeInput; links?: Link[] } = {},
): Span | undefined {
  const tracer = current;
  if (tracer === undefined || parent === undefined) return undefined;
  const sampled = 'spanContext' in parent ? parent.isRecording() : (parent.traceFlags & TraceFlags.SAMPLED) !== 0;
  if (!sampled) return undefined;
  return tracer.startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(attributes ? { attributes } : {}),
      ...(options.startTime !== undefined ? { startTime: options.startTime } : {}),
      ...(options.links ? { links: options.links } : {}),
    },
    contextWith(parent),
  );
}

/** Marks a span failed with the error's code and message, then ends it. */
export function endWithError(span: Span | undefined, error: unknown, endTime?: TimeInput): void {
  if (span === undefined) return;
  const code = (error as { code?: unknown }).code;
  span.setAttribute('error.type', typeof code === 'string' ? code : ((error as Error).name ?? 'Error'));
  span.setStatus({ code: 2, message: (error as Error).message });
  span.end(endTime);
}
