import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import protobuf from 'protobufjs';

/** One exported span as the receiver decoded it: ids as hex, attributes as plain values. */
export interface ReceivedSpan {
  readonly service: string;
  readonly name: string;
  readonly kind: string;
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
  readonly status: { readonly code: string; readonly message?: string };
}

const root = protobuf.loadSync(resolve(import.meta.dirname, 'trace-service.proto'));
const Request = root.lookupType('otlp.ExportTraceServiceRequest');
const Response = root.lookupType('otlp.ExportTraceServiceResponse');

type Decoded = Record<string, unknown>;
const hex = (bytes: unknown): string => (bytes instanceof Uint8Array ? Buffer.from(bytes).toString('hex') : '');

function plainValue(any: Decoded | undefined): unknown {
  if (!any) return undefined;
  if ('stringValue' in any) return any.stringValue;
  if ('boolValue' in any) return any.boolValue;
  if ('intValue' in any) return Number(any.intValue);
  if ('doubleValue' in any) return any.doubleValue;
  if ('arrayValue' in any) return (((any.arrayValue as Decoded).values as Decoded[] | undefined) ?? []).map(plainValue);
  return undefined;
}

const attributesOf = (list: unknown): Record<string, unknown> =>
  Object.fromEntries(((list as Decoded[] | undefined) ?? []).map((kv) => [kv.key as string, plainValue(kv.value as Decoded)]));

/** Decodes one ExportTraceServiceRequest body (OTLP/HTTP, protobuf) into its spans. */
export function decodeSpans(body: Buffer): ReceivedSpan[] {
  const message = Request.toObject(Request.decode(body), { longs: String, enums: String, oneofs: false, defaults: false }) as Decoded;
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of (message.resourceSpans as Decoded[] | undefined) ?? []) {
    const service = String(attributesOf((resourceSpans.resource as Decoded | undefined)?.attributes)['service.name'] ?? '');
    for (const scope of (resourceSpans.scopeSpans as Decoded[] | undefined) ?? []) {
      for (const span of (scope.spans as Decoded[] | undefined) ?? []) {
        const status = (span.status as Decoded | undefined) ?? {};
        spans.push({
          service,
          name: span.name as string,
          kind: (span.kind as string | undefined) ?? 'SPAN_KIND_UNSPECIFIED',
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          startNs: BigInt(span.startTimeUnixNano as string),
          endNs: BigInt(span.endTimeUnixNano as string),
          attributes: attributesOf(span.attributes),
          links: ((span.links as Decoded[] | undefined) ?? []).map((link) => ({ traceId: hex(link.traceId), spanId: hex(link.spanId) })),
          status: {
            code: (status.code as string | undefined) ?? 'STATUS_CODE_UNSET',
            ...(status.message ? { message: status.message as string } : {}),
          },
        });
      }
    }
  }
  return spans;
}

/** A real OTLP/HTTP trace receiver on a free loopback port, as a collector would be: POST /v1/traces. */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Export requests received, with the headers they carried. */
  readonly requests: {
    readonly contentType: string | undefined;
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  }[] = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.method !== 'POST' || request.url !== '/v1/traces') {
          response.writeHead(404).end();
          return;
        }
        try {
          receiver!.spans.push(...decodeSpans(Buffer.concat(chunks)));
          receiver!.requests.push({ contentType: request.headers['content-type'], headers: request.headers });
        } catch (error) {
          response.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
          return;
        }
        response
          .writeHead(200, { 'content-type': 'application/x-protobuf' })
          .end(Buffer.from(Response.encode(Response.create({})).finish()));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    receiver = new OtlpReceiver(server);
    return receiver;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Every span of one trace received so far. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((done) => this.#server.close(() => done()));
  }
}
