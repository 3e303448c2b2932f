import { setMaxListeners } from 'node:events';
import type { ServerDuplexStream, ServerUnaryCall, ServiceDefinition, sendUnaryData } from '@grpc/grpc-js';
import { ServingError } from '../../workers/protocol/errors.js';
import { BodyHold, UNCOUNTED_BODY_BYTES } from '../limits/body-memory.js';
import { BytesLayout } from './bytes-layout.js';
import { admitInference } from '../request/admit-call.js';
import type { InferCall, InferFrontEnd, InferOutcome } from '../request/infer-call.js';
import { runInference } from '../request/run-inference.js';
import { decodeInferRequest, type GrpcInferRequest, type GrpcInputContents, withElementLists } from './decode-infer-request.js';
import { encodeGrpcAnswer, encodeStreamGrpcAnswer } from './encode-infer-response.js';
import {
  answerMetadata,
  authenticateCall,
  authorizeCall,
  failCall,
  finishCall,
  metadataValue,
  type MetadataReader,
  openCall,
  type GrpcCall,
  type GrpcFront,
} from './grpc-call.js';
import { answerTooLarge } from './grpc-errors.js';

export interface Codec {
  readonly request: (value: unknown) => Buffer;
  readonly streamResponse: (value: unknown) => Buffer;
}

/** Field 2 (infer_response, length-delimited) of ModelStreamInferResponse around an encoded ModelInferResponse. */
function streamAnswer(body: Buffer): Buffer {
  const length: number[] = [];
  let rest = body.length;
  while (rest > 0x7f) {
    length.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  length.push(rest);
  return Buffer.concat([Buffer.from([0x12, ...length]), body]);
}

/** One ModelInferRequest through the request pipeline: this front end only decodes and encodes. */
export function infer(
  front: GrpcFront,
  codec: Codec,
  call: GrpcCall,
  request: GrpcInferRequest,
  metadata: MetadataReader,
  cancel: AbortSignal,
  onStream: boolean,
  encode: InferFrontEnd['encode'] = encodeGrpcAnswer,
): Promise<InferOutcome> {
  admitInference(front.pipeline);
  const audit = {};
  call.audit = audit;
  call.target = request.model_name ?? '';
  const idempotencyKey = metadataValue(metadata, 'idempotency-key');
  if (onStream && idempotencyKey !== undefined) {
    throw new ServingError(
      'invalid_parameter',
      'idempotency-key metadata names one call: send keyed requests with ModelInfer, not on a stream',
    );
  }
  const tier = metadataValue(metadata, 'x-tier');
  const review = metadataValue(metadata, 'x-review');
  const inferCall: InferCall = {
    requestId: call.requestId,
    clientRequestId: call.clientRequestId,
    arrivedAt: call.arrivedAt,
    tenant: call.tenant,
    trace: call.trace,
    name: request.model_name ?? '',
    ...(request.model_version ? { version: request.model_version } : {}),
    headers: {
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(tier !== undefined ? { tier } : {}),
      ...(review !== undefined ? { review } : {}),
    },
    // Read only when something logs: a child logger per call costs a few microseconds.
    get log() {
      return call.log;
    },
    audit,
    cancel,
  };
  const frontEnd: InferFrontEnd = {
    readBody: async () => decodeInferRequest(request, () => codec.request(request)),
    reviewInput: () => ({ contentType: 'application/grpc+proto', body: codec.request(request) }),
    encode,
  };
  return runInference(inferCall, frontEnd, front.pipeline);
}

/**
 * Aborted by a cancel or a passed deadline: the same abort path as a closed HTTP connection.
 * grpc-js reports every call's end as 'cancelled', answered or not: after settle() it is ignored
 * (an abort costs a DOMException and its stack).
 */
function cancelSignal(call: { on(event: 'cancelled', listener: () => void): unknown }): { signal: AbortSignal; settle(): void } {
  const controller = new AbortController();
  // A stream's requests share its signal, each pipeline run listening while it works.
  setMaxListeners(0, controller.signal);
  let settled = false;
  call.on('cancelled', () => {
    if (!settled) controller.abort();
  });
  return { signal: controller.signal, settle: () => (settled = true) };
}

/**
 * A stream's request holds its tensor bytes in the gateway's body memory until it is answered
 * (grpc-js has read the message already: this bounds the requests at work, and a refused one
 * is dropped at once). A request the memory cannot take is answered server_busy.
 */
function holdMessage(front: GrpcFront, request: GrpcInferRequest): BodyHold | ServingError | undefined {
  if (!front.bodyMemory) return undefined;
  let bytes = 0;
  for (const raw of request.raw_input_contents ?? []) bytes += raw.length;
  for (const input of request.inputs ?? []) bytes += contentsBytes(input.contents);
  if (bytes <= UNCOUNTED_BODY_BYTES) return undefined;
  const hold = front.bodyMemory.hold();
  try {
    hold.take(bytes);
  } catch (error) {
    return error as ServingError;
  }
  return hold;
}

/** About what a request's typed contents hold in memory: bytes for BYTES, a double per number. */
function contentsBytes(contents: GrpcInputContents | undefined): number {
  let bytes = 0;
  for (const [field, values] of Object.entries(contents ?? {})) {
    if (!values) continue;
    if (values instanceof BytesLayout) {
      bytes += values.byteLength;
      continue;
    }
    if (field === 'bytes_contents') for (const value of values) bytes += (value as Buffer).length;
    else bytes += values.length * 8;
  }
  return bytes;
}

/** The codec the inference handlers share: requests re-encoded for fingerprints and review, stream answers encoded. */
export function inferCodec(definition: ServiceDefinition): Codec {
  const serialize = definition.ModelInfer!.requestSerialize;
  return {
    request: (value) => serialize(withElementLists(value as GrpcInferRequest)),
    streamResponse: definition.ModelStreamInfer!.responseSerialize,
  };
}

/** ModelInfer and ModelStreamInfer; an answer over maxSendBytes is that request's error (answerTooLarge). */
export function inferHandlers(front: GrpcFront, definition: ServiceDefinition, maxSendBytes: number) {
  const codec = inferCodec(definition);

  const ModelInfer = (grpcCall: ServerUnaryCall<GrpcInferRequest, unknown>, callback: sendUnaryData<unknown>): void => {
    const call = openCall(front, 'ModelInfer', grpcCall.metadata);
    const { signal: cancel, settle } = cancelSignal(grpcCall);
    authorizeCall(front, call, grpcCall)
      .then(() => infer(front, codec, call, grpcCall.request, grpcCall.metadata, cancel, false))
      .then(({ replayed, answer }) => {
        settle();
        const body = answer.body as Buffer;
        if (body.length > maxSendBytes) throw answerTooLarge(body.length, maxSendBytes);
        const metadata = answerMetadata(call, answer.headers);
        if (replayed) metadata.set('idempotent-replayed', 'true');
        grpcCall.sendMetadata(metadata);
        callback(null, body);
        finishCall(front, call, 200, undefined);
      })
      .catch((error: unknown) => {
        settle();
        const failed = failCall(call, cancel.aborted ? new ServingError('client_cancelled', 'the caller cancelled the call') : error);
        callback(failed.status);
        finishCall(front, call, failed.httpStatus, failed.code);
      });
  };

  /**
   * Each request is answered on the stream as it completes (match answers by `id`); a
   * failed one is answered with error_message (its code in parameters.error_code) and the
   * stream goes on (an answer over the send limit too). Every answer carries triton_final_response: true, as Triton's for a model
   * that is not decoupled (clients that asked triton_enable_empty_final_response wait for it).
   * The stream itself fails only when its caller cannot be authenticated.
   */
  const ModelStreamInfer = (stream: ServerDuplexStream<GrpcInferRequest, unknown>): void => {
    const { signal: cancel, settle: settleStream } = cancelSignal(stream);
    let tenant: ReturnType<GrpcFront['pipeline']['authenticate']>;
    try {
      tenant = authenticateCall(front, stream);
    } catch (error) {
      const call = openCall(front, 'ModelStreamInfer', stream.metadata);
      const failed = failCall(call, error);
      stream.emit('error', failed.status);
      finishCall(front, call, failed.httpStatus, failed.code);
      return;
    }
    let open = 0;
    let ended = false;
    const settle = (): void => {
      if (!ended || open > 0 || cancel.aborted) return;
      settleStream();
      stream.end();
    };
    const opened = openCall(front, 'ModelStreamInfer', stream.metadata);
    stream.sendMetadata(answerMetadata(opened));
    // Each request on the stream gets a span of its own; this one only marks the opening.
    opened.trace.span?.end();
    stream.on('data', (request: GrpcInferRequest) => {
      open += 1;
      const call = openCall(front, 'ModelStreamInfer', stream.metadata);
      call.tenant = tenant;
      const hold = holdMessage(front, request);
      front.pipeline.rateLimiter
        .take(tenant)
        .then(() => {
          if (hold instanceof ServingError) throw hold;
          return infer(front, codec, call, request, stream.metadata, cancel, true, encodeStreamGrpcAnswer);
        })
        .then(({ answer }) => {
          const message = streamAnswer(answer.body as Buffer);
          if (message.length > maxSendBytes) throw answerTooLarge(message.length, maxSendBytes);
          if (!cancel.aborted) stream.write(message);
          finishCall(front, call, 200, undefined);
        })
        .catch((error: unknown) => {
          const failed = failCall(call, cancel.aborted ? new ServingError('client_cancelled', 'the caller cancelled the stream') : error);
          const parameters = {
            error_code: { string_param: failed.code },
            request_id: { string_param: call.requestId },
            triton_final_response: { bool_param: true },
          };
          if (!cancel.aborted) {
            const infer_response = { model_name: request.model_name ?? '', id: request.id ?? '', parameters };
            stream.write(codec.streamResponse({ error_message: failed.status.details, infer_response }));
          }
          finishCall(front, call, failed.httpStatus, failed.code);
        })
        .finally(() => {
          if (hold instanceof BodyHold) hold.release();
          open -= 1;
          settle();
        });
    });
    stream.on('end', () => {
      ended = true;
      settle();
    });
  };

  return { ModelInfer, ModelStreamInfer };
}
