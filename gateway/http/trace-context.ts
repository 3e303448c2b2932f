import { randomFillSync } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Span } from '../../workers/tracing/tracer.js';

/** W3C Trace Context: version 00, 32-hex trace id, 16-hex parent (span) id, 2-hex flags. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZEROS = /^0+$/;

/**
 * Random bytes for ids come from a pool refilled 4 KiB at a time: a call into the system
 * RNG per request (randomBytes) cost 6 % of the gateway's event loop under load.
 */
const pool = Buffer.alloc(4096);
let used = pool.length;
function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += bytes;
  return pool.toString('hex', used - bytes, used);
}

export interface TraceContext {
  readonly traceId: string;
  /** This request's own span: what it passes on as the parent. */
  readonly spanId: string;
  /** The caller's span, when it sent a valid traceparent. */
  readonly parentId?: string;
  readonly flags: string;
  /** This request's OpenTelemetry span, when traces are exported (gateway/tracing/). */
  readonly span?: Span;
}

declare module 'fastify' {
  interface FastifyRequest {
    trace: TraceContext;
  }
}

/**
 * The caller's trace continued, or a new one: an absent or malformed traceparent (and the
 * all-zero ids the spec forbids) starts a new trace rather than failing the request.
 */
export function traceContextFor(header: string | string[] | undefined): TraceContext {
  const spanId = randomHex(8);
  const match = typeof header === 'string' ? TRACEPARENT.exec(header.trim().toLowerCase()) : null;
  if (match && !ZEROS.test(match[1]!) && !ZEROS.test(match[2]!))
    return { traceId: match[1]!, parentId: match[2]!, spanId, flags: match[3]! };
  return { traceId: randomHex(16), spanId, flags: '01' };
}

/** The traceparent a downstream hop (the queue, a worker) continues from. */
export function traceparentOf(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}

/** Every request gets a trace context, and its response says where it sits in the trace. */
export function installTraceContext(app: FastifyInstance): void {
  app.decorateRequest('trace', undefined as unknown as TraceContext);
  app.addHook('onRequest', (request, reply, done) => {
    request.trace = traceContextFor(request.headers.traceparent);
    reply.header('traceparent', traceparentOf(request.trace));
    done();
  });
}
