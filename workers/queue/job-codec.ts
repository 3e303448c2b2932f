import { DATATYPE_INFO, isDatatype, viewBytes } from '../protocol/datatypes.js';
import { ERROR_TABLE, type ErrorCode } from '../protocol/errors.js';
import type { InferResult, InferTimings, ValidInferRequest } from '../protocol/inference.js';
import type { Tensor } from '../protocol/tensor.js';

/**
 * How requests and results travel through Redis: JSON, with tensor bytes as base64
 * (BullMQ stores job data as JSON text). One job carries the requests a gateway's
 * coalescer gathered for one model version (up to a batch; gateway/queue/job-coalescer.ts),
 * so Redis round trips are paid per group, not per request. Versioned so mixed deployments
 * fail loudly.
 */
export const JOB_FORMAT = 2;

interface EncodedTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly base64: string;
}

export type EncodedRequest = Omit<ValidInferRequest, 'inputs'> & {
  /** Position in the job as first queued; replies name it. */
  readonly item: number;
  readonly inputs: readonly EncodedTensor[];
};

export interface InferJobData {
  readonly format: typeof JOB_FORMAT;
  /** The gateway instance waiting for the answers. */
  readonly replyTo: string;
  readonly requests: readonly EncodedRequest[];
}

export type ItemReply =
  | { readonly item: number; readonly ok: true; readonly result: EncodedResult }
  | { readonly item: number; readonly ok: false; readonly code: ErrorCode; readonly message: string };

/** Answers for some or all items of one job. */
export interface Reply {
  readonly jobId: string;
  readonly items: readonly ItemReply[];
}

export interface EncodedResult {
  readonly model: string;
  readonly version: string;
  readonly outputs: readonly EncodedTensor[];
  readonly timings: InferTimings;
}

function encodeTensor(tensor: Tensor): EncodedTensor {
  const bytes = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, base64: bytes.toString('base64') };
}

function decodeTensor(encoded: EncodedTensor): Tensor {
  if (!isDatatype(encoded.datatype)) throw new Error(`job holds unknown datatype ${encoded.datatype}`);
  // Decoded straight into memory of the tensor's own (Buffer.from would use a shared
  // pooled slab, and tensors must own aligned memory they can transfer).
  const owned = new Uint8Array(Buffer.byteLength(encoded.base64, 'base64'));
  const written = Buffer.from(owned.buffer).write(encoded.base64, 'base64');
  if (written !== owned.byteLength) throw new Error(`tensor ${encoded.name} is not valid base64`);
  const size = DATATYPE_INFO[encoded.datatype].bytes;
  if (size > 0 && owned.byteLength % size !== 0)
    throw new Error(`tensor ${encoded.name} has ${owned.byteLength} bytes, not a multiple of ${size}`);
  return { name: encoded.name, datatype: encoded.datatype, shape: encoded.shape, data: viewBytes(encoded.datatype, owned) };
}

/** `skip`: items whose caller left before the job went out; the others keep their item numbers. */
export function encodeJob(requests: readonly ValidInferRequest[], replyTo: string, skip?: ReadonlySet<number>): InferJobData {
  const encoded = requests.flatMap((request, item) =>
    skip?.has(item) ? [] : [{ ...request, item, inputs: request.inputs.map(encodeTensor) }],
  );
  return { format: JOB_FORMAT, replyTo, requests: encoded };
}

export function decodeJob(data: InferJobData): { requests: { item: number; request: ValidInferRequest }[]; replyTo: string } {
  if (data.format !== JOB_FORMAT) throw new Error(`job format ${String(data.format)} is not ${JOB_FORMAT}`);
  return {
    replyTo: data.replyTo,
    requests: data.requests.map(({ item, ...request }) => ({ item, request: { ...request, inputs: request.inputs.map(decodeTensor) } })),
  };
}

export function encodeResult(result: InferResult): EncodedResult {
  return { model: result.model, version: result.version, outputs: result.outputs.map(encodeTensor), timings: result.timings };
}

export function decodeResult(encoded: EncodedResult): InferResult {
  return { model: encoded.model, version: encoded.version, outputs: encoded.outputs.map(decodeTensor), timings: encoded.timings };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && value in ERROR_TABLE;
}
