import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { Client, credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { ERROR_TABLE, type ErrorCode } from '../../workers/protocol/errors.js';
import type { PhaseLoad } from './autocannon-driver.js';
import { breakDown, isReplayed, type ResponseHeaders } from './header-breakdown.js';
import { carriedHeaders, GrpcRequestCodec } from './grpc-requests.js';
import { H2Connection, requestHeaderBlock } from '../grpc-h2-client.js';
import { classifyOutcome } from './outcomes.js';
import type { RequestSchedule } from './request-schedule.js';
import type { RunRecorder } from './run-recorder.js';

export interface GrpcPhaseLoad extends PhaseLoad {
  /** host:port of the gateway's gRPC front end. */
  readonly grpcAddress: string;
  /** ModelStreamInfer, one stream per connection, instead of unary ModelInfer. */
  readonly streaming: boolean;
  /** Sent as a stream's authorization metadata (unary calls carry each request's own). */
  readonly key?: string;
  /**
   * Unary calls through bench/grpc-h2-client.ts (prepared bytes on a socket, as autocannon sends
   * HTTP/1.1) rather than node:http2: outcomes are success or failure only (no x-error-code, no
   * latency breakdown), so the load test keeps node:http2 and the gRPC/HTTP bench uses this.
   */
  readonly rawUnary?: boolean;
  /** HTTP/2 connections the callers share (default 8, never more than the callers). */
  readonly grpcConnections?: number;
}

const SERVICE = '/inference.GRPCInferenceService/';
const CONNECTIONS = 8;
const connectionsFor = (load: GrpcPhaseLoad): number => Math.min(load.connections, load.grpcConnections ?? CONNECTIONS);
const identity = (value: Buffer): Buffer => value;

/** The HTTP status an answer stands for: the error table's, by the x-error-code the gateway sent. */
function httpStatus(code: string | undefined): number {
  return code !== undefined && code in ERROR_TABLE ? ERROR_TABLE[code as ErrorCode].status : 500;
}

const _flatten = (metadata: Metadata | undefined): ResponseHeaders =>
  Object.fromEntries(Object.entries(metadata?.getMap() ?? {}).map(([key, value]) => [key, String(value)]));

/** What a stream answer says, read without decoding its tensors: its id, and its error and code if it failed. */
function readStreamAnswer(bytes: Buffer): { id: string; error?: string; code?: string } {
  const reader = protobuf.Reader.create(bytes);
  let id = '';
  let error: string | undefined;
  let code: string | undefined;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) error = reader.string() || undefined;
    else if (tag >>> 3 === 2) {
      const end = reader.uint32() + reader.pos;
      while (reader.pos < end) {
        const inner = reader.uint32();
        if (inner >>> 3 === 3) id = reader.string();
        else if (inner >>> 3 === 4) {
          // map<string, InferParameter> entry: key (1), value (2) whose string_param is field 3.
          const entryEnd = reader.uint32() + reader.pos;
          let key = '';
          let value = '';
          while (reader.pos < entryEnd) {
            const field = reader.uint32();
            if (field >>> 3 === 1) key = reader.string();
            else if (field >>> 3 === 2) {
              const paramEnd = reader.uint32() + reader.pos;
              while (reader.pos < paramEnd) {
                const param = reader.uint32();
                if (param >>> 3 === 3) value = reader.string();
                else reader.skipType(param & 7);
              }
            } else reader.skipType(field & 7);
          }
          if (key === 'error_code') code = value;
        } else reader.skipType(inner & 7);
      }
    } else reader.skipType(tag & 7);
  }
  return { id, ...(error !== undefined ? { error } : {}), ...(code !== undefined ? { code } : {}) };
}

/**
 * The gRPC twin of the autocannon driver: `connections` callers (closed loop, or each at
 * its share of `rate`), every answer filed in `recorder` the same way (outcomes by the
 * x-error-code trailer, the latency breakdown from the initial metadata). Requests are
 * serialized once per body; answers are not decoded beyond what the report needs.
 */
export async function driveGrpcPhase(load: GrpcPhaseLoad, schedule: RequestSchedule, recorder: RunRecorder): Promise<{ activeS: number }> {
  const codec = new GrpcRequestCodec();
  // Several HTTP/2 connections, as autocannon opens one per caller: one connection's single
  // socket and flow-control window would be the bottleneck, not the gateway. Distinct options
  // keep grpc-js from sharing one subchannel between the clients.
  const clients = Array.from(
    { length: load.streaming ? connectionsFor(load) : 0 },
    (_, index) =>
      new Client(load.grpcAddress, credentials.createInsecure(), {
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': -1,
        'switchyard.connection': index,
      }),
  );
  const startedAt = performance.now();
  const deadline = startedAt + load.durationS * 1000;
  const intervalMs = load.rate === undefined ? 0 : 1000 / (load.rate / load.connections);
  let lastDoneAt = startedAt;
  let sequence = 0;

  const record = (kind: string, sentAt: number, code: string | undefined, headers: ResponseHeaders, failed: boolean): void => {
    const latencyMs = performance.now() - sentAt;
    lastDoneAt = performance.now();
    const status = failed ? httpStatus(code) : 200;
    const outcome = classifyOutcome(status, code, isReplayed(headers));
    const breakdown = failed ? undefined : breakDown(latencyMs, headers);
    recorder.recordResponse(kind, { latencyMs, status, outcome, code, breakdown, expectedIntervalMs: intervalMs });
  };

  /**
   * Unary calls over plain node:http2 with gRPC's framing: autocannon is a raw HTTP/1.1 client,
   * and @grpc/grpc-js's client costs several times the gateway's own work per call, which on a
   * shared machine would be measured against the gateway.
   */
  const sessions = Array.from({ length: load.streaming || load.rawUnary ? 0 : connectionsFor(load) }, () =>
    connect(`http://${load.grpcAddress}`),
  );
  // Each distinct body framed once (length prefix and message): per call, only headers are built.
  const frames = new Map<Buffer, Buffer>();
  const frameOf = (next: ReturnType<RequestSchedule['next']>): Buffer => {
    let frame = frames.get(next.body);
    if (!frame) {
      const message = codec.message(next);
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(message.length, 1);
      frame = Buffer.concat([prefix, message]);
      frames.set(next.body, frame);
    }
    return frame;
  };
  const prepare = (next: ReturnType<RequestSchedule['next']>): { frame: Buffer; headers: Record<string, string> } => {
    const frame = frameOf(next);
    const headers = {
      ':method': 'POST',
      ':path': `${SERVICE}ModelInfer`,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...carriedHeaders(next.headers),
    };
    return { frame, headers };
  };
  const unary = (session: ClientHttp2Session, next: ReturnType<RequestSchedule['next']>): Promise<void> =>
    new Promise((done) => {
      const { frame, headers } = prepare(next);
      const sentAt = performance.now();
      let initial: ResponseHeaders = {};
      let trailers: ResponseHeaders = {};
      const request = session.request(headers);
      request.setTimeout(load.timeoutS * 1000, () => request.close(constants.NGHTTP2_CANCEL));
      request.on('response', (headers) => (initial = headers as ResponseHeaders));
      request.on('trailers', (headers) => (trailers = headers as ResponseHeaders));
      request.on('data', () => undefined);
      request.on('error', () => undefined);
      request.on('close', () => {
        // A trailers-only answer (every error) carries grpc-status in its headers.
        const all = { ...initial, ...trailers };
        const grpcStatus = all['grpc-status'];
        if (grpcStatus === undefined || (grpcStatus !== '0' && all['x-error-code'] === undefined)) {
          lastDoneAt = performance.now();
          recorder.recordTransportError('transport', request.rstCode === constants.NGHTTP2_CANCEL);
        } else {
          record(next.kind, sentAt, grpcStatus === '0' ? undefined : String(all['x-error-code']), all, grpcStatus !== '0');
        }
        done();
      });
      request.end(frame);
    });

  const openStream = (client: Client) => {
    const waiting = new Map<string, (answer: { error?: string; code?: string }) => void>();
    const metadata = new Metadata();
    if (load.key !== undefined) metadata.set('authorization', `Bearer ${load.key}`);
    const stream = client.makeBidiStreamRequest(`${SERVICE}ModelStreamInfer`, identity, identity, metadata) as ClientDuplexStream<
      Buffer,
      Buffer
    >;
    stream.on('data', (bytes: Buffer) => {
      const answer = readStreamAnswer(bytes);
      waiting.get(answer.id)?.(answer);
      waiting.delete(answer.id);
    });
    stream.on('error', () => {
      for (const resolve of waiting.values()) resolve({ error: 'stream failed' });
      waiting.clear();
    });
    return {
      send: (next: ReturnType<RequestSchedule['next']>): Promise<void> =>
        new Promise((done) => {
          sequence += 1;
          const id = `l${sequence}`;
          const sentAt = performance.now();
          waiting.set(id, (answer) => {
            if (answer.error !== undefined && answer.code === undefined) {
              lastDoneAt = performance.now();
              recorder.recordTransportError('transport', false);
            } else record(next.kind, sentAt, answer.code, {}, answer.error !== undefined);
            done();
          });
          stream.write(codec.encode(next, id).message);
        }),
      close: () => stream.end(),
    };
  };

  const [host, port] = [load.grpcAddress.slice(0, load.grpcAddress.lastIndexOf(':')), Number(load.grpcAddress.split(':').pop())];
  const raw = await Promise.all(
    Array.from({ length: load.rawUnary && !load.streaming ? connectionsFor(load) : 0 }, () => H2Connection.open(host, port)),
  );
  const blocks = new Map<Readonly<Record<string, string>>, Buffer>();
  const rawUnary = async (connection: H2Connection, next: ReturnType<RequestSchedule['next']>): Promise<void> => {
    const frame = frameOf(next);
    let block = blocks.get(next.headers);
    if (!block)
      blocks.set(next.headers, (block = requestHeaderBlock(load.grpcAddress, `${SERVICE}ModelInfer`, carriedHeaders(next.headers))));
    const sentAt = performance.now();
    const end = await connection.call(block, frame);
    if (end === 'reset') {
      lastDoneAt = performance.now();
      recorder.recordTransportError('transport', false);
    } else record(next.kind, sentAt, undefined, {}, end === 'failed');
  };

  const caller = async (index: number): Promise<void> => {
    const stream = load.streaming ? openStream(clients[index % clients.length]!) : undefined;
    const session = sessions[index % Math.max(1, sessions.length)]!;
    const connection = raw[index % Math.max(1, raw.length)];
    let due = startedAt + (intervalMs * index) / load.connections;
    while (performance.now() < deadline) {
      if (intervalMs > 0) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        due += intervalMs;
        if (performance.now() >= deadline) break;
      }
      const next = schedule.next();
      recorder.recordSent();
      await (stream ? stream.send(next) : connection ? rawUnary(connection, next) : unary(session, next));
    }
    stream?.close();
  };
  await Promise.all(Array.from({ length: load.connections }, (_, index) => caller(index)));
  for (const client of clients) client.close();
  for (const session of sessions) session.close();
  for (const connection of raw) connection.close();
  return { activeS: (lastDoneAt - startedAt) / 1000 };
}
