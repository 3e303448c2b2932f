import { availableParallelism } from 'node:os';
import { copyInSlices } from '../../workers/threads/copy-in-slices.js';
import { ThreadPool } from '../../workers/threads/thread-pool.js';
import { parseV1Request, type V1Model } from './kserve-v1.js';
import { parseInferRequest, type ParsedInferRequest } from './parse-infer-request.js';

/**
 * JSON headers this large are parsed on a thread: JSON.parse and turning `data` into typed
 * arrays take about 20 ms per MiB on the event loop, which would stall every other request
 * (health checks included) for the whole parse of a large body.
 */
export const JSON_THREAD_MIN_BYTES = 1024 * 1024;

let pool: ThreadPool | undefined;

/**
 * parseInferRequest, on a JSON thread for large headers. The header and binary bytes are
 * copied (a slice per turn of the event loop) into buffers that move to the thread: the body
 * is still read afterwards, for the idempotency fingerprint. The tensors come back by transfer.
 */
export async function parseInferRequestOffThread(header: Buffer, binary: Buffer): Promise<ParsedInferRequest> {
  if (header.length < JSON_THREAD_MIN_BYTES) return parseInferRequest(header, binary);
  const job = { header: await copyInSlices(header), binary: await copyInSlices(binary) };
  return jsonThreads().run<ParsedInferRequest>(job, [job.header.buffer as ArrayBuffer, job.binary.buffer as ArrayBuffer]);
}

/** parseV1Request, on the same threads for bodies as large: JSON.parse and the rows' conversion take as long. */
export async function parseV1RequestOffThread(body: Buffer, model: V1Model): Promise<ParsedInferRequest> {
  if (body.length < JSON_THREAD_MIN_BYTES) return parseV1Request(body, model);
  const job = {
    v1: await copyInSlices(body),
    model: { name: model.name, config: { inputs: model.config.inputs, max_batch_size: model.config.max_batch_size } },
  };
  return jsonThreads().run<ParsedInferRequest>(job, [job.v1.buffer as ArrayBuffer]);
}

function jsonThreads(): ThreadPool {
  pool ??= new ThreadPool({ from: import.meta.url, module: 'infer-json-thread', name: 'json', size: Math.min(2, availableParallelism()) });
  return pool;
}
