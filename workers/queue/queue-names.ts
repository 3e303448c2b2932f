/**
 * Every Redis name Switchyard uses in distributed mode, in one place. BullMQ adds its
 * own `<prefix>:<queue>:<suffix>` keys; the rest are ours, under the same prefix.
 */
export function inferQueueName(model: string, version: string): string {
  // BullMQ forbids ':' in queue names.
  return `infer.${model}.${version}`;
}

export const DEAD_LETTER_QUEUE = 'dead-letters';

export function replyStreamKey(prefix: string, gatewayId: string): string {
  return `${prefix}:replies:${gatewayId}`;
}

/** Sorted set of live workers, scored by when their heartbeat expires. */
export function workersKey(prefix: string): string {
  return `${prefix}:workers`;
}

export function workerKey(prefix: string, workerId: string): string {
  return `${prefix}:worker:${workerId}`;
}

/** BullMQ's own keys that hold waiting jobs (v6: plain jobs in a list, prioritized in a zset). */
export function waitingKeys(prefix: string, queue: string): { wait: string; prioritized: string } {
  return { wait: `${prefix}:${queue}:wait`, prioritized: `${prefix}:${queue}:prioritized` };
}
