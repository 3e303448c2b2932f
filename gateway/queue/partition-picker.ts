/**
 * Which of a version's queues the next job goes to: each in turn, per version, so a hot
 * version's jobs spread evenly over its partitions (and, in a Redis Cluster, over their shards).
 * A job's requests stay together in one queue, so priority holds within it; jobs in different
 * queues may be taken in any order.
 */
export class PartitionPicker {
  readonly #next = new Map<string, number>();
  /** Partition queue -> the version's first queue, for every queue handed out. */
  readonly #versionQueue = new Map<string, string>();

  pick(queues: readonly string[]): string {
    const first = queues[0]!;
    if (queues.length === 1) return first;
    const turn = this.#next.get(first) ?? 0;
    this.#next.set(first, (turn + 1) % queues.length);
    const queue = queues[turn % queues.length]!;
    this.#versionQueue.set(queue, first);
    return queue;
  }

  /** The version's first queue (the name the gateway tracks the version by) for any of its queues. */
  versionQueue(queue: string): string {
    return this.#versionQueue.get(queue) ?? queue;
  }
}
