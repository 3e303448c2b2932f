import { transferable } from '../../workers/runtime/transfer.js';
import { serveJobs } from '../../workers/threads/serve-jobs.js';
import { parseV1Request, type V1Model } from './kserve-v1.js';
import { parseInferRequest } from './parse-infer-request.js';

type Job = { header: Uint8Array; binary: Uint8Array } | { v1: Uint8Array; model: V1Model };

/** A JSON thread: parses an OIP or KServe V1 body into tensors (typed arrays), which go back by transfer. */
serveJobs((job: Job) => {
  const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parsed = 'v1' in job ? parseV1Request(asBuffer(job.v1), job.model) : parseInferRequest(asBuffer(job.header), asBuffer(job.binary));
  const { tensors, buffers } = transferable(parsed.inputs);
  return { value: { ...parsed, inputs: tensors }, transfer: buffers };
});
