import { randomUUID } from 'node:crypto';
import type { PreparedRequest } from './request-bodies.js';

export interface ScheduleEntry {
  /** How the report names this kind of request, e.g. `classify` or `text-direction (image)`. */
  readonly kind: string;
  readonly weight: number;
  readonly requests: readonly PreparedRequest[];
  /** Send each Idempotency-Key this many times (with the same body, as a retrying client would). */
  readonly idempotencyRepeats?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface NextRequest extends PreparedRequest {
  readonly kind: string;
}

/**
 * Hands out the next request for whichever connection asks, shared by all of them: kinds in
 * proportion to their weights (interleaved, not in blocks), bodies in turn, and for a retry
 * storm the same key and body to the next `repeats` askers, so retries race their original.
 */
export class RequestSchedule {
  readonly #order: number[];
  readonly #bodyCursor: number[];
  readonly #keys: ({ key: string; request: PreparedRequest; usesLeft: number } | undefined)[];
  readonly #runId = randomUUID().slice(0, 8);
  #step = 0;
  #keyCount = 0;

  constructor(
    readonly entries: readonly ScheduleEntry[],
    private readonly commonHeaders: Readonly<Record<string, string>>,
  ) {
    if (entries.length === 0) throw new Error('a schedule needs at least one kind of request');
    this.#order = interleave(entries.map((entry) => entry.weight));
    this.#bodyCursor = entries.map(() => 0);
    this.#keys = entries.map(() => undefined);
  }

  next(): NextRequest {
    const index = this.#order[this.#step % this.#order.length]!;
    this.#step += 1;
    const entry = this.entries[index]!;
    const repeats = entry.idempotencyRepeats;
    let request: PreparedRequest;
    const headers: Record<string, string> = { ...this.commonHeaders, ...entry.headers };
    if (repeats === undefined) {
      request = this.#nextBody(index);
    } else {
      let held = this.#keys[index];
      if (!held || held.usesLeft === 0) {
        this.#keyCount += 1;
        held = { key: `loadtest-${this.#runId}-${this.#keyCount}`, request: this.#nextBody(index), usesLeft: repeats };
        this.#keys[index] = held;
      }
      held.usesLeft -= 1;
      request = held.request;
      headers['idempotency-key'] = held.key;
    }
    return { kind: entry.kind, path: request.path, body: request.body, headers: { ...request.headers, ...headers } };
  }

  #nextBody(index: number): PreparedRequest {
    const requests = this.entries[index]!.requests;
    const request = requests[this.#bodyCursor[index]! % requests.length]!;
    this.#bodyCursor[index]! += 1;
    return request;
  }
}

/** Smooth weighted round robin (nginx's): weights 3 and 1 give a a b a, not a a a b. */
export function interleave(weights: readonly number[]): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const current = weights.map(() => 0);
  const order: number[] = [];
  for (let step = 0; step < total; step += 1) {
    let best = 0;
    for (let i = 0; i < weights.length; i += 1) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    order.push(best);
  }
  return order;
}
