import type { Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;
interface Value {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

/**
 * Counter and histogram families for the per-request hot path. prom-client validates and
 * hashes the label set on every call (about a microsecond each, several per request:
 * measured at 6 % of an embedded gateway's throughput); these hand out a handle per label
 * set once, whose calls are plain additions, and render through prom-client's registry
 * (its custom-metric interface: name, help, type, get) only when scraped.
 */
abstract class LeanFamily<Series> {
  readonly aggregator = 'sum';
  readonly #series = new Map<string, { labels: Labels; series: Series }>();

  protected constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The handle for one label set; look it up once and keep it. */
  series(labels: Labels): Series {
    const key = Object.values(labels).join('\u0000');
    let entry = this.#series.get(key);
    if (!entry) {
      entry = { labels, series: this.create() };
      this.#series.set(key, entry);
    }
    return entry.series;
  }

  protected entries(): Iterable<{ labels: Labels; series: Series }> {
    return this.#series.values();
  }

  protected abstract create(): Series;
}

export interface CounterSeries {
  inc(by?: number): void;
  readonly value: number;
}

export class LeanCounter extends LeanFamily<CounterSeries> {
  readonly type = 'counter';

  constructor(name: string, help: string, registry: Registry) {
    super(name, help, registry);
  }

  protected create(): CounterSeries {
    return {
      value: 0,
      inc(by = 1) {
        (this as { value: number }).value += by;
      },
    };
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Value[] } {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.entries()].map(({ labels, series }) => ({ labels: { ...labels }, value: series.value })),
    };
  }

  reset(): void {
    for (const { series } of this.entries()) (series as { value: number }).value = 0;
  }
}

export interface HistogramSeries {
  observe(value: number): void;
}

class Buckets implements HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    let index = 0;
    while (index < this.bounds.length && value > this.bounds[index]!) index += 1;
    this.counts[index]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

export class LeanHistogram extends LeanFamily<HistogramSeries> {
  readonly type = 'histogram';
  readonly #bounds: readonly number[];

  constructor(name: string, help: string, bounds: readonly number[], registry: Registry) {
    super(name, help, registry);
    this.#bounds = [...bounds].sort((a, b) => a - b);
  }

  protected create(): HistogramSeries {
    return new Buckets(this.#bounds);
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Value[] } {
    const values: Value[] = [];
    for (const { labels, series } of this.entries()) {
      const buckets = series as Buckets;
      let cumulative = 0;
      this.#bounds.forEach((bound, index) => {
        cumulative += buckets.counts[index]!;
        values.push({ labels: { ...labels, le: bound }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: buckets.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...labels }, value: buckets.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...labels }, value: buckets.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const { series } of this.entries()) {
      const buckets = series as Buckets;
      buckets.counts.fill(0);
      buckets.sum = 0;
      buckets.count = 0;
    }
  }
}
