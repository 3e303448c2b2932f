import type { Resolution, ReviewItem, ReviewOutcome } from './review-item.js';
import { matches, type ReviewFilter, type ReviewStore, type RouteCounts } from './review-store.js';

/** Embedded mode's review store: bounded by retention time and a count cap, oldest dropped first. */
export class MemoryReviewStore implements ReviewStore {
  // A Map keeps insertion order, which is creation order: listing is oldest first for free.
  readonly #items = new Map<string, { item: ReviewItem; expires: number }>();
  readonly #counts = new Map<string, { routed: number; created: number }>();

  constructor(
    private readonly retentionMs: number,
    private readonly maxItems = 10_000,
  ) {}

  async create(item: ReviewItem): Promise<void> {
    const now = Date.now();
    for (const [id, entry] of this.#items) {
      if (this.#items.size < this.maxItems && entry.expires >= now) break;
      this.#items.delete(id);
    }
    this.#items.set(item.id, { item: structuredClone(item), expires: now + this.retentionMs });
    this.#count(item.route).created += 1;
  }

  async get(id: string): Promise<ReviewItem | undefined> {
    const item = this.#live(id);
    return item && structuredClone(item);
  }

  async list(filter: ReviewFilter): Promise<ReviewItem[]> {
    const out: ReviewItem[] = [];
    const now = Date.now();
    for (const { item, expires } of this.#items.values()) {
      if (out.length >= filter.limit) break;
      if (expires >= now && matches(item, filter)) out.push(structuredClone(item));
    }
    return out;
  }

  async claim(id: string, reviewer: string, at: string): Promise<ReviewOutcome> {
    const item = this.#live(id);
    if (!item) return { kind: 'not_found' };
    if (item.state === 'resolved' || (item.state === 'claimed' && item.claimed_by !== reviewer))
      return { kind: 'conflict', item: structuredClone(item) };
    const claimed = item.state === 'claimed' ? item : { ...item, state: 'claimed' as const, claimed_by: reviewer, claimed_at: at };
    return this.#replace(claimed);
  }

  async resolve(id: string, reviewer: string, resolution: Resolution): Promise<ReviewOutcome> {
    const item = this.#live(id);
    if (!item) return { kind: 'not_found' };
    if (item.state !== 'claimed' || item.claimed_by !== reviewer) return { kind: 'conflict', item: structuredClone(item) };
    return this.#replace({
      ...item,
      state: 'resolved',
      resolved_by: reviewer,
      resolved_at: resolution.at,
      decision: resolution.decision,
      ...(resolution.humanOutput !== undefined ? { human_output: resolution.humanOutput } : {}),
    });
  }

  async attachExplanation(id: string, explanation: unknown): Promise<boolean> {
    const item = this.#live(id);
    if (!item) return false;
    this.#replace({ ...item, explanation: structuredClone(explanation) });
    return true;
  }

  async countRouted(route: string): Promise<void> {
    this.#count(route).routed += 1;
  }

  async counts(): Promise<Record<string, RouteCounts>> {
    return Object.fromEntries([...this.#counts].map(([route, counts]) => [route, { ...counts }]));
  }

  #replace(item: ReviewItem): ReviewOutcome {
    const entry = this.#items.get(item.id)!;
    entry.item = item;
    return { kind: 'ok', item: structuredClone(item) };
  }

  #count(route: string): { routed: number; created: number } {
    let counts = this.#counts.get(route);
    if (!counts) this.#counts.set(route, (counts = { routed: 0, created: 0 }));
    return counts;
  }

  #live(id: string): ReviewItem | undefined {
    const entry = this.#items.get(id);
    if (entry && entry.expires < Date.now()) {
      this.#items.delete(id);
      return undefined;
    }
    return entry?.item;
  }
}
