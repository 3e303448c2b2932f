/**
 * Collects records written on every request and writes them in one pipelined batch
 * every `intervalMs` (or at `maxItems`), so the audit log and the ledger cost Redis one
 * round trip per batch rather than per request. A crash loses at most one interval.
 */
export class WriteBehind<T> {
  #items: T[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = 50,
    private readonly maxItems = 500,
  ) {}

  add(item: T): void {
    this.#items.push(item);
    if (this.#items.length >= this.maxItems) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Writes what is buffered; resolves when every earlier write has finished. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const items = this.#items;
    this.#items = [];
    if (items.length > 0) this.#flushing = this.#flushing.then(() => this.write(items)).catch(this.onError);
    return this.#flushing;
  }
}
