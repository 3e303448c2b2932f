import type { FastifyInstance } from 'fastify';

/**
 * Counts requests from arrival until their response has been handed to the kernel.
 * Draining waits for zero before closing the server: Node's close() destroys
 * connections whose response has ended but not yet flushed, cutting large bodies.
 */
export class InFlightRequests {
  #count = 0;
  #waiters: (() => void)[] = [];

  install(app: FastifyInstance): void {
    app.addHook('onRequest', (_request, reply, next) => {
      this.#count += 1;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        this.#count -= 1;
        if (this.#count === 0) for (const wake of this.#waiters.splice(0)) wake();
      };
      // 'finish': the last byte is with the kernel; 'close': the connection died first.
      reply.raw.once('finish', finish);
      reply.raw.once('close', finish);
      next();
    });
  }

  get count(): number {
    return this.#count;
  }

  idle(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
