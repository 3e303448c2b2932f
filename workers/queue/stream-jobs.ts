import type { EncodedRequest, InferJobData, JobTensor } from './job-codec.js';

/**
 * How the streams engine (QUEUE_ENGINE=streams) lays out a job: one stream entry in the
 * queue's stream for its priority class (redis-keys.ts jobStreams), read by the consumer
 * group GROUP. A job keeps its entry, and so its entry id, from its add until it is finished:
 * retries and stalled-job recovery move it between consumers of the group, never to a new entry.
 */
export const GROUP = 'workers';
/** The consumer that holds jobs backing off before a retry (its entries are not stalled). */
export const BACKING_OFF = 'backing-off';

/** Priority classes, best first: 0 (the default), 1-9, 10 and above. First come, first served within a class. */
export function priorityClass(priority: number): number {
  return priority <= 0 ? 0 : priority < 10 ? 1 : 2;
}

export const FIELD = { job: 'j', data: 'd', tensors: 'b', addedAt: 't' } as const;

/** A tensor in an entry's JSON whose bytes are the next `bytes` of the entry's binary field. */
interface EntryTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly bytes: number;
}

/**
 * The XADD arguments after the stream key and id: the job as JSON, with the bytes of the tensors
 * it holds as bytes (encodeJob's) in one binary field, in order (no base64, no JSON of the data);
 * tensors in base64 (a requeued dead letter) stay in the JSON.
 */
export function entryFields(jobId: string, data: InferJobData, addedAt: number): (string | Buffer)[] {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const requests = (data.requests ?? []).map((request) => {
    if (!Array.isArray(request.inputs)) return request;
    const inputs = request.inputs.map((tensor) => {
      if (tensor.data === undefined) return tensor;
      chunks.push(tensor.data);
      total += tensor.data.byteLength;
      return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, bytes: tensor.data.byteLength };
    });
    return { ...request, inputs };
  });
  const json = JSON.stringify({ ...data, requests });
  const tensors = total > 0 ? [FIELD.tensors, Buffer.concat(chunks, total)] : [];
  return [FIELD.job, jobId, FIELD.data, json, ...tensors, FIELD.addedAt, String(addedAt)];
}

export interface StreamEntry {
  readonly jobId: string;
  readonly data: InferJobData;
  readonly addedAt: number;
}

/** The job's tensors with their bytes: views into the entry's binary field (decodeJob copies them out). */
function withTensorBytes(data: InferJobData, tensors: Buffer | undefined): InferJobData | undefined {
  let at = 0;
  const fill = (tensor: JobTensor | EntryTensor): JobTensor | undefined => {
    if (!('bytes' in tensor)) return tensor;
    const { bytes, ...rest } = tensor;
    if (!tensors || !Number.isSafeInteger(bytes) || bytes < 0 || at + bytes > tensors.byteLength) return undefined;
    at += bytes;
    return { ...rest, data: tensors.subarray(at - bytes, at) };
  };
  if (!Array.isArray(data.requests)) return data;
  const requests: EncodedRequest[] = [];
  for (const request of data.requests) {
    if (!Array.isArray(request.inputs)) {
      requests.push(request);
      continue;
    }
    const inputs = (request.inputs as readonly (JobTensor | EntryTensor)[]).map(fill);
    if (inputs.includes(undefined)) return undefined;
    requests.push({ ...request, inputs: inputs as JobTensor[] });
  }
  return at === (tensors?.byteLength ?? 0) ? { ...data, requests } : undefined;
}

/** undefined for an entry that does not read as a job (it is dead-lettered as such). */
export function readEntry(fields: readonly Buffer[]): StreamEntry | undefined {
  const value = (name: string): Buffer | undefined => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === name) return fields[i + 1];
    return undefined;
  };
  const jobId = value(FIELD.job)?.toString();
  const raw = value(FIELD.data);
  if (jobId === undefined || raw === undefined) return undefined;
  try {
    const data = withTensorBytes(JSON.parse(raw.toString()) as InferJobData, value(FIELD.tensors));
    return data && { jobId, data, addedAt: Number(value(FIELD.addedAt)?.toString() ?? 0) };
  } catch {
    return undefined;
  }
}

/** A job's handle on the gateway: its priority class and entry id. */
export function handleOf(priorityClassIndex: number, entryId: string): string {
  return `${priorityClassIndex} ${entryId}`;
}

export function parseHandle(handle: string): { priorityClass: number; entryId: string } {
  const [cls, entryId] = handle.split(' ');
  return { priorityClass: Number(cls), entryId: entryId ?? '' };
}
