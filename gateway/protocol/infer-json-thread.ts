import { transferable } from '../../workers/runtime/transfer.js';
import { serveJobs } from '../../workers/threads/serve-jobs.js';
import { parseInferRequest } from './parse-infer-request.js';

/** A JSON thread: parses an OIP body into tensors (typed arrays), which go back by transfer. */
serveJobs(({ header, binary }: { header: Uint8Array; binary: Uint8Array }) => {
  const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parsed = parseInferRequest(asBuffer(header), asBuffer(binary));
  const { tensors, buffers } = transferable(parsed.inputs);
  return { value: { ...parsed, inputs: tensors }, transfer: buffers };
});
