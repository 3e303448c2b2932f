/**
 * Per model version, per gateway instance (as Envoy's outlier detection is per proxy:
 * a shared breaker would cost a Redis round trip on every request). Opens after
 * `failures` consecutive failures; after `openMs` one probe is let through (half-open),
 * whose success closes it and whose failure opens it again.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

interface Breaker {
  state: BreakerState;
  failures: number;
  openedAt: number;
  probing: boolean;
}

export class CircuitBreakers {
  readonly #breakers = new Map<string, Breaker>();

  constructor(
    private readonly failures: number,
    private readonly openMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Whether a request may go to `target` now (claims the probe when half-open). */
  allow(target: string): boolean {
    const breaker = this.#breakers.get(target);
    if (!breaker || breaker.state === 'closed') return true;
    if (breaker.state === 'open' && this.clock() - breaker.openedAt >= this.openMs) {
      breaker.state = 'half-open';
      breaker.probing = false;
    }
    if (breaker.state === 'half-open' && !breaker.probing) {
      breaker.probing = true;
      return true;
    }
    return false;
  }

  success(target: string): void {
    this.#breakers.delete(target);
  }

  failure(target: string): void {
    const breaker = this.#breakers.get(target) ?? { state: 'closed' as BreakerState, failures: 0, openedAt: 0, probing: false };
    breaker.failures += 1;
    if (breaker.state === 'half-open' || breaker.failures >= this.failures) {
      breaker.state = 'open';
      breaker.openedAt = this.clock();
      breaker.probing = false;
    }
    this.#breakers.set(target, breaker);
  }

  snapshot(): { target: string; state: BreakerState; consecutive_failures: number }[] {
    return [...this.#breakers.entries()].map(([target, b]) => ({ target, state: b.state, consecutive_failures: b.failures }));
  }
}
