/** What the fair queue reads of a waiting request. */
export interface FairItem {
  readonly rows: number;
  /** Lower is served first, before any fairness. */
  readonly priority: number;
  /** Requests with no tenant share one. */
  readonly tenant?: string;
  /** Rows of this tenant served per row of a weight-1 tenant, while both wait (default 1). */
  readonly weight?: number;
}

interface LevelState {
  /** Virtual time: the start tag of the latest request taken at this priority. */
  now: number;
  /** Per tenant, the finish tag of its latest request queued at this priority. */
  readonly last: Map<string, number>;
  /** Requests of this level still queued; its state is forgotten when none are. */
  queued: number;
}

/**
 * The batcher's waiting requests, in the order it serves them: by priority, then, within a
 * priority, by start-time fair queueing over tenants. Each request's start tag is the later
 * of the level's virtual time and its tenant's previous finish tag, and its finish tag adds
 * rows / weight; requests are served by start tag, ties in arrival order. A tenant with a
 * backlog of n requests thus holds tags far ahead of the virtual time, and another tenant's
 * new request starts at the virtual time, i.e. next in line, not behind the backlog.
 *
 * decideBatch() reads `items` in this order; the batcher takes what it sends with take() and
 * drops expired (or abandoned) requests with removeWhere().
 */
export class FairQueue<T extends FairItem> {
  #items: T[] = [];
  #starts: number[] = [];
  readonly #levels = new Map<number, LevelState>();

  /** In serving order; read-only to callers. */
  get items(): readonly T[] {
    return this.#items;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    let level = this.#levels.get(item.priority);
    if (!level) this.#levels.set(item.priority, (level = { now: 0, last: new Map(), queued: 0 }));
    const tenant = item.tenant ?? '';
    const start = Math.max(level.now, level.last.get(tenant) ?? 0);
    level.last.set(tenant, start + Math.max(1, item.rows) / Math.max(1, item.weight ?? 1));
    level.queued += 1;
    // After every request served before it: a lower priority number, or the same and an earlier or equal start.
    let at = this.#items.length;
    while (at > 0 && this.#before(item.priority, start, at - 1)) at -= 1;
    this.#items.splice(at, 0, item);
    this.#starts.splice(at, 0, start);
  }

  /** Removes the requests at these positions (of `items`), as sent; returns them in queue order. */
  take(indexes: readonly number[]): T[] {
    const chosen = new Set(indexes);
    return this.#removeIf((_, index) => chosen.has(index), true).map(({ item }) => item);
  }

  /** Removes every request the test holds for (expired, or abandoned by its caller); returns them. */
  removeWhere(test: (item: T) => boolean): T[] {
    if (!this.#items.some(test)) return [];
    return this.#removeIf((item) => test(item), false).map(({ item }) => item);
  }

  /** True when a new request of this priority and start tag is served before the one at `index`. */
  #before(priority: number, start: number, index: number): boolean {
    const other = this.#items[index]!.priority;
    return other > priority || (other === priority && this.#starts[index]! > start);
  }

  /** `served`: the removed requests were sent, so the virtual time moves up to their start tags. */
  #removeIf(test: (item: T, index: number) => boolean, served: boolean): { item: T; start: number }[] {
    const removed: { item: T; start: number }[] = [];
    const items: T[] = [];
    const starts: number[] = [];
    this.#items.forEach((item, index) => {
      if (test(item, index)) removed.push({ item, start: this.#starts[index]! });
      else {
        items.push(item);
        starts.push(this.#starts[index]!);
      }
    });
    this.#items = items;
    this.#starts = starts;
    for (const { item, start } of removed) {
      const level = this.#levels.get(item.priority)!;
      if (served) level.now = Math.max(level.now, start);
      level.queued -= 1;
    }
    for (const priority of new Set(removed.map(({ item }) => item.priority))) this.#settle(priority);
    return removed;
  }

  /**
   * A level with nothing queued forgets its history (fairness is among requests that wait
   * together); tenants whose last finish tag the virtual time has passed are forgotten too.
   */
  #settle(priority: number): void {
    const level = this.#levels.get(priority);
    if (!level) return;
    if (level.queued === 0) this.#levels.delete(priority);
    else for (const [tenant, finish] of level.last) if (finish <= level.now) level.last.delete(tenant);
  }
}
