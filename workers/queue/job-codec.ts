import { DATATYPE_INFO, isDatatype, viewBytes } from '../protocol/datatypes.js';
import { ERROR_TABLE, type ErrorCode } from '../protocol/errors.js';
import type { InferResult, ValidInferRequest } from '../protocol/inference.js';
import type { Tensor } from '../protocol/tensor.js';

/**
 * How requests and results travel through Redis. A job carries the requests a gateway's coalescer
 * gathered for one model version (up to a batch; gateway/queue/job-coalescer.ts), so Redis round
 * trips are paid per group, not per request: JSON with tensor bytes as base64 where it is JSON
 * text (BullMQ's job data, dead letters), JSON beside one binary field of the tensors' bytes in a
 * streams entry (stream-jobs.ts). A reply is a stream entry of two fields: JSON with each output's
 * byte count, and the outputs' bytes, in order, as one binary field (base64 in JSON cost the
 * gateway's event loop a decode, a parse and a copy of a third more bytes; a recognizer output
 * is 1 MB). Versioned so mixed deployments fail loudly: a job of format 3 comes from a gateway
 * that reads binary replies; a worker also takes format 2 (the gateway before them) and answers it
 * as JSON with base64 tensors, so workers can be upgraded before gateways.
 */
export const JOB_FORMAT = 3;
/** The previous format, still read by workers (see above). */
const PREVIOUS_FORMAT = 2;

/**
 * A tensor in a job: its bytes as base64 where the job is JSON text (BullMQ's job data, dead
 * letters), or as bytes (in memory, and in a streams entry's binary field: stream-jobs.ts).
 */
export type JobTensor = {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
} & ({ readonly base64: string; readonly data?: undefined } | { readonly data: Uint8Array; readonly base64?: undefined });

export type EncodedRequest = Omit<ValidInferRequest, 'inputs'> & {
  /** Position in the job as first queued; replies name it. */
  readonly item: number;
  readonly inputs: readonly JobTensor[];
};

export interface InferJobData {
  readonly format: typeof JOB_FORMAT | typeof PREVIOUS_FORMAT;
  /** The gateway instance waiting for the answers. */
  readonly replyTo: string;
  readonly requests: readonly EncodedRequest[];
}

export type ItemReply =
  | { readonly item: number; readonly ok: true; readonly result: InferResult }
  | { readonly item: number; readonly ok: false; readonly code: ErrorCode; readonly message: string };

/** Answers for some or all items of one job. */
export interface Reply {
  readonly jobId: string;
  readonly items: readonly ItemReply[];
  /** The job's format, when it is the previous one: answered as its gateway reads them. */
  readonly format?: InferJobData['format'];
}

/** An output in a reply entry's JSON: its bytes are the next `bytes` of the entry's binary field. */
interface ReplyTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly bytes: number;
}

type ReplyHeader = {
  readonly jobId: string;
  readonly items: readonly (
    | { readonly item: number; readonly ok: true; readonly result: Omit<InferResult, 'outputs'> & { outputs: readonly ReplyTensor[] } }
    | Extract<ItemReply, { ok: false }>
  )[];
};

const bytesOf = (tensor: Pick<Tensor, 'data'>): Uint8Array =>
  new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);

/** A job tensor as JSON holds it: its bytes in base64. */
function base64Tensor(tensor: JobTensor): JobTensor {
  if (tensor.data === undefined) return tensor;
  const base64 = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength).toString('base64');
  return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, base64 };
}

function decodeTensor(encoded: JobTensor): Tensor {
  if (!isDatatype(encoded.datatype)) throw new Error(`job holds unknown datatype ${encoded.datatype}`);
  // Into memory of the tensor's own (not a view into the entry, nor Buffer.from's shared pooled
  // slab): tensors must own aligned memory they can transfer.
  let owned: Uint8Array;
  if (encoded.data !== undefined) {
    owned = new Uint8Array(encoded.data.byteLength);
    owned.set(encoded.data);
  } else {
    owned = new Uint8Array(Buffer.byteLength(encoded.base64, 'base64'));
    const written = Buffer.from(owned.buffer).write(encoded.base64, 'base64');
    if (written !== owned.byteLength) throw new Error(`tensor ${encoded.name} is not valid base64`);
  }
  const size = DATATYPE_INFO[encoded.datatype].bytes;
  if (size > 0 && owned.byteLength % size !== 0)
    throw new Error(`tensor ${encoded.name} has ${owned.byteLength} bytes, not a multiple of ${size}`);
  return { name: encoded.name, datatype: encoded.datatype, shape: encoded.shape, data: viewBytes(encoded.datatype, owned) };
}

/**
 * The job's tensors as views of the requests' own (each engine writes them its way: jobJson for
 * JSON, stream-jobs.ts's entry fields). `skip`: items whose caller left before the job went out;
 * the others keep their item numbers.
 */
export function encodeJob(requests: readonly ValidInferRequest[], replyTo: string, skip?: ReadonlySet<number>): InferJobData {
  const encoded = requests.flatMap((request, item) =>
    skip?.has(item)
      ? []
      : [
          {
            ...request,
            item,
            inputs: request.inputs.map((tensor) => ({
              name: tensor.name,
              datatype: tensor.datatype,
              shape: tensor.shape,
              data: bytesOf(tensor),
            })),
          },
        ],
  );
  return { format: JOB_FORMAT, replyTo, requests: encoded };
}

/** The job as JSON text holds it (BullMQ's job data, a dead letter): tensors in base64. */
export function jobJson(data: InferJobData): InferJobData {
  if (!Array.isArray(data.requests)) return data;
  return {
    ...data,
    requests: data.requests.map((request) =>
      Array.isArray(request.inputs) ? { ...request, inputs: request.inputs.map(base64Tensor) } : request,
    ),
  };
}

export function decodeJob(data: InferJobData): { requests: { item: number; request: ValidInferRequest }[]; replyTo: string } {
  if (data.format !== JOB_FORMAT && data.format !== PREVIOUS_FORMAT)
    throw new Error(`job format ${String(data.format)} is not ${JOB_FORMAT} (or ${PREVIOUS_FORMAT})`);
  return {
    replyTo: data.replyTo,
    requests: data.requests.map(({ item, ...request }) => ({ item, request: { ...request, inputs: request.inputs.map(decodeTensor) } })),
  };
}

/** A reply as its stream entry's two fields: the JSON, and every output's bytes in order. */
export function encodeReply(reply: Reply): { json: string; bytes?: Buffer } {
  if (reply.format === PREVIOUS_FORMAT) {
    const items = reply.items.map((answer) =>
      answer.ok
        ? {
            ...answer,
            result: {
              ...answer.result,
              outputs: answer.result.outputs.map((tensor) =>
                base64Tensor({ name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, data: bytesOf(tensor) }),
              ),
            },
          }
        : answer,
    );
    return { json: JSON.stringify({ jobId: reply.jobId, items }) };
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const items = reply.items.map((answer) => {
    if (!answer.ok) return answer;
    const { model, version, timings } = answer.result;
    const outputs = answer.result.outputs.map((tensor) => {
      chunks.push(bytesOf(tensor));
      total += tensor.data.byteLength;
      return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, bytes: tensor.data.byteLength };
    });
    return { item: answer.item, ok: true as const, result: { model, version, timings, outputs } };
  });
  return { json: JSON.stringify({ jobId: reply.jobId, items }), bytes: Buffer.concat(chunks, total) };
}

/**
 * Reads a reply entry back; throws if its JSON and bytes disagree. Each output gets memory of
 * its own (aligned for its type, and never a view into the entry another output could detach).
 */
export function decodeReply(json: string, bytes: Uint8Array): Reply {
  const header = JSON.parse(json) as ReplyHeader;
  let at = 0;
  const items = header.items.map((answer): ItemReply => {
    if (!answer.ok) return answer;
    const outputs = answer.result.outputs.map((tensor): Tensor => {
      if (!isDatatype(tensor.datatype)) throw new Error(`reply holds unknown datatype ${tensor.datatype}`);
      const size = DATATYPE_INFO[tensor.datatype].bytes;
      if (
        !Number.isSafeInteger(tensor.bytes) ||
        tensor.bytes < 0 ||
        (size > 0 && tensor.bytes % size !== 0) ||
        at + tensor.bytes > bytes.byteLength
      )
        throw new Error(`reply output ${tensor.name} claims ${String(tensor.bytes)} bytes`);
      const owned = new Uint8Array(tensor.bytes);
      owned.set(bytes.subarray(at, at + tensor.bytes));
      at += tensor.bytes;
      return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, data: viewBytes(tensor.datatype, owned) };
    });
    return { item: answer.item, ok: true, result: { ...answer.result, outputs } };
  });
  if (at !== bytes.byteLength) throw new Error(`reply has ${bytes.byteLength - at} bytes no output claims`);
  return { jobId: header.jobId, items };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && value in ERROR_TABLE;
}
