/**
 * This gateway's outbound callback connections: at most `limit` open at once. Attempts waiting
 * for one take turns by tenant, so a tenant whose receivers hang (each attempt holding its
 * connection until CALLBACK_TIMEOUT_MS) delays the others' callbacks by one turn, not by its backlog.
 */
export class CallbackConnections {
  readonly #limit: number;
  #open = 0;
  /** Tenant -> its waiting attempts; the Map's order is the turn order. */
  readonly #waiting = new Map<string, (() => void)[]>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  get open(): number {
    return this.#open;
  }

  async run<T>(tenant: string, connect: () => Promise<T>): Promise<T> {
    if (this.#open < this.#limit) this.#open += 1;
    else
      await new Promise<void>((resolve) => {
        const queue = this.#waiting.get(tenant);
        if (queue) queue.push(resolve);
        else this.#waiting.set(tenant, [resolve]);
      });
    try {
      return await connect();
    } finally {
      this.#release();
    }
  }

  /** The freed connection passes to the next tenant in turn, which goes to the back of the line. */
  #release(): void {
    for (const [tenant, queue] of this.#waiting) {
      const next = queue.shift()!;
      this.#waiting.delete(tenant);
      if (queue.length > 0) this.#waiting.set(tenant, queue);
      next();
      return;
    }
    this.#open -= 1;
  }
}
