/**
 * Failed authentications per client address in a fixed window: after `limit` failures an
 * address is refused (429) until its window ends, so keys cannot be guessed at line rate.
 * Kept in this gateway's memory: with several gateways an address gets `limit` per gateway.
 */
export class AuthFailures {
  readonly #windows = new Map<string, { failures: number; endsAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    /** Addresses tracked at most; beyond it the expired windows are swept, then the oldest dropped. */
    private readonly maxAddresses = 10_000,
  ) {}

  /** Milliseconds until `address` may try again; 0 when it may try now. */
  blockedFor(address: string, now: number): number {
    const window = this.#windows.get(address);
    if (!window || window.endsAt <= now) return 0;
    return window.failures >= this.limit ? window.endsAt - now : 0;
  }

  failed(address: string, now: number): void {
    const window = this.#windows.get(address);
    if (window && window.endsAt > now) {
      window.failures += 1;
      return;
    }
    if (this.#windows.size >= this.maxAddresses) this.#sweep(now);
    this.#windows.set(address, { failures: 1, endsAt: now + this.windowMs });
  }

  #sweep(now: number): void {
    for (const [address, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(address);
    // Maps iterate in insertion order: the first entries are the oldest windows.
    for (const address of this.#windows.keys()) {
      if (this.#windows.size < this.maxAddresses) break;
      this.#windows.delete(address);
    }
  }
}
