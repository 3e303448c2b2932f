/** Names of Switchyard's BullMQ queues (their Redis keys are named in redis-keys.ts). */
export function inferQueueName(model: string, version: string): string {
  // BullMQ forbids ':' in queue names.
  return `infer.${model}.${version}`;
}

export const DEAD_LETTER_QUEUE = 'dead-letters';
