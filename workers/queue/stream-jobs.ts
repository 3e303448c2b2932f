import type { InferJobData } from './job-codec.js';

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

export const FIELD = { job: 'j', data: 'd', addedAt: 't' } as const;

/** The XADD arguments after the stream key and id. */
export function entryFields(jobId: string, data: InferJobData, addedAt: number): string[] {
  return [FIELD.job, jobId, FIELD.data, JSON.stringify(data), FIELD.addedAt, String(addedAt)];
}

export interface StreamEntry {
  readonly jobId: string;
  readonly data: InferJobData;
  readonly addedAt: number;
}

/** undefined for an entry that does not read as a job (it is dead-lettered as such). */
export function readEntry(fields: readonly string[]): StreamEntry | undefined {
  const value = (name: string): string | undefined => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const jobId = value(FIELD.job);
  const raw = value(FIELD.data);
  if (jobId === undefined || raw === undefined) return undefined;
  try {
    return { jobId, data: JSON.parse(raw) as InferJobData, addedAt: Number(value(FIELD.addedAt) ?? 0) };
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
